// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ERC20Base: balances, allowances, mint and burn shared by the
/// devnet's fungible tokens.  The concrete token declares name() and
/// symbol() (as string or as bytes32), so both shapes that exporters meet on
/// mainnet exist here.  Events follow EIP-20 exactly; transferFrom does not
/// emit Approval, so every log a call emits is listed in its comment.
abstract contract ERC20Base {
    uint8 public immutable decimals;
    address public immutable owner;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint8 decimals_) {
        decimals = decimals_;
        owner = msg.sender;
    }

    /// Emits Transfer(msg.sender, to, value).
    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    /// Emits Approval(msg.sender, spender, value).
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// Emits Transfer(from, to, value); an unlimited allowance stays unlimited.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= value, "ERC20: insufficient allowance");
        if (allowed != type(uint256).max) {
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    /// Owner only.  Emits Transfer(0, to, value).
    function mint(address to, uint256 value) external {
        require(msg.sender == owner, "ERC20: caller is not the owner");
        _mint(to, value);
    }

    /// Emits Transfer(msg.sender, 0, value).
    function burn(uint256 value) external {
        require(balanceOf[msg.sender] >= value, "ERC20: burn exceeds balance");
        unchecked {
            balanceOf[msg.sender] -= value;
            totalSupply -= value;
        }
        emit Transfer(msg.sender, address(0), value);
    }

    function _mint(address to, uint256 value) internal {
        require(to != address(0), "ERC20: mint to the zero address");
        totalSupply += value;
        unchecked {
            balanceOf[to] += value;
        }
        emit Transfer(address(0), to, value);
    }

    function _move(address from, address to, uint256 value) internal {
        require(to != address(0), "ERC20: transfer to the zero address");
        uint256 have = balanceOf[from];
        require(have >= value, "ERC20: transfer exceeds balance");
        unchecked {
            balanceOf[from] = have - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
