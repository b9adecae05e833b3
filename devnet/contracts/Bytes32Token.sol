// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20Base} from "./ERC20Base.sol";

/// @title Bytes32Token: an ERC-20 whose name() and symbol() return bytes32,
/// as early tokens did (MKR, SAI): readers must decode a right-padded
/// bytes32 instead of an ABI string.
contract Bytes32Token is ERC20Base {
    bytes32 public name;
    bytes32 public symbol;

    constructor(bytes32 name_, bytes32 symbol_, uint8 decimals_) ERC20Base(decimals_) {
        name = name_;
        symbol = symbol_;
    }
}
