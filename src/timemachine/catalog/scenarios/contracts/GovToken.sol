// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title GovToken
/// @notice The DAO's ERC-20 governance token (18 decimals). Voting power is the holder's CURRENT
///         balance (`getVotes`): there are no checkpoints or snapshots, so tokens held for one
///         block -- or borrowed for one transaction -- vote with full weight.
contract GovToken {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    address public immutable owner;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
        owner = msg.sender;
    }

    /// @notice The voting power of `account`: its balance right now.
    function getVotes(address account) external view returns (uint256) {
        return balanceOf[account];
    }

    /// @notice Create `amount` new tokens for `to`; only the owner may mint.
    function mint(address to, uint256 amount) external {
        require(msg.sender == owner, "GovToken: not owner");
        require(to != address(0), "GovToken: mint to zero");
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
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
            require(allowed >= amount, "GovToken: insufficient allowance");
            unchecked {
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _transfer(from, to, amount);
        return true;
    }

    function _transfer(address from, address to, uint256 amount) private {
        require(to != address(0), "GovToken: transfer to zero");
        uint256 balance = balanceOf[from];
        require(balance >= amount, "GovToken: insufficient balance");
        unchecked {
            balanceOf[from] = balance - amount;
            balanceOf[to] += amount;
        }
        emit Transfer(from, to, amount);
    }
}
