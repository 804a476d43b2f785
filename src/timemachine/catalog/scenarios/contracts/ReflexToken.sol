// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ReflexToken
/// @notice A fixed-supply ERC-20 minted to its deployer, traded on a V2-style pair.
/// @dev VULNERABLE (for the devnet's logic-flaw scenario): `_transfer` reads both balances before
///      writing either, so when `from == to` the second write overwrites the first and a
///      self-transfer credits `amount` out of nothing (the bug behind several 2022-2023 BSC token
///      exploits). The fix is to write `from` before reading `to`, or to reject `from == to`.
contract ReflexToken {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "ReflexToken: insufficient allowance");
            allowance[from][msg.sender] = allowed - amount;
        }
        _transfer(from, to, amount);
        return true;
    }

    /// @dev Caches both balances, then writes them: wrong when `from == to`.
    function _transfer(address from, address to, uint256 amount) private {
        require(from != address(0) && to != address(0), "ReflexToken: zero address");
        uint256 fromBalance = balanceOf[from];
        uint256 toBalance = balanceOf[to];
        require(fromBalance >= amount, "ReflexToken: transfer exceeds balance");
        balanceOf[from] = fromBalance - amount;
        balanceOf[to] = toBalance + amount;
        emit Transfer(from, to, amount);
    }
}
