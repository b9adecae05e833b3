// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20Base} from "./ERC20Base.sol";

/// @title Token: an ERC-20 with string name and symbol, the common shape.
/// The constructor mints initialSupply to the deployer (a Transfer from the
/// zero address in the deployment's receipt) when it is not zero.
contract Token is ERC20Base {
    string public name;
    string public symbol;

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 initialSupply)
        ERC20Base(decimals_)
    {
        name = name_;
        symbol = symbol_;
        if (initialSupply != 0) {
            _mint(msg.sender, initialSupply);
        }
    }
}
