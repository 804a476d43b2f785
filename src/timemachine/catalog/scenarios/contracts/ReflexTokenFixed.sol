// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ReflexTokenFixed
/// @notice A fixed-supply ERC-20 minted to its deployer, traded on a V2-style pair.
/// @dev FIXED version of ReflexToken (same storage layout): self-transfer-safe balance update.
contract ReflexTokenFixed {
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

    /// @dev FIX: writes the sender's balance before it reads the receiver's, so a self-transfer
    ///      leaves the balance unchanged.
    function _transfer(address from, address to, uint256 amount) private {
        require(from != address(0) && to != address(0), "ReflexToken: zero address");
        uint256 fromBalance = balanceOf[from];
        require(fromBalance >= amount, "ReflexToken: transfer exceeds balance");
        balanceOf[from] = fromBalance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
