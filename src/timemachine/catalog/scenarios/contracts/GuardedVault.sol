// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title GuardedVault
/// @notice An ETH vault with transferable shares (1 share = 1 wei), written correctly:
///         checks-effects-interactions everywhere and a reentrancy lock on every state change.
///         The devnet's benign control "vault-deposit-withdraw" (looks like ShareVault, is not).
contract GuardedVault {
    mapping(address => uint256) public sharesOf;
    uint256 public totalShares;
    uint256 private _lock = 1;

    event Deposited(address indexed account, uint256 amount);
    event Redeemed(address indexed account, uint256 amount);
    event SharesTransferred(address indexed from, address indexed to, uint256 shares);

    modifier nonReentrant() {
        require(_lock == 1, "GuardedVault: reentrant call");
        _lock = 2;
        _;
        _lock = 1;
    }

    function deposit() external payable nonReentrant {
        require(msg.value > 0, "GuardedVault: zero deposit");
        sharesOf[msg.sender] += msg.value;
        totalShares += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    function transfer(address to, uint256 shares) external nonReentrant {
        require(to != address(0), "GuardedVault: zero receiver");
        require(sharesOf[msg.sender] >= shares, "GuardedVault: insufficient shares");
        sharesOf[msg.sender] -= shares;
        sharesOf[to] += shares;
        emit SharesTransferred(msg.sender, to, shares);
    }

    /// @notice Redeem `shares` of the caller's shares for ETH (effects before the payment).
    function redeem(uint256 shares) external nonReentrant {
        require(shares > 0 && sharesOf[msg.sender] >= shares, "GuardedVault: insufficient shares");
        sharesOf[msg.sender] -= shares;
        totalShares -= shares;
        emit Redeemed(msg.sender, shares);
        (bool ok, ) = msg.sender.call{value: shares}("");
        require(ok, "GuardedVault: ETH transfer failed");
    }
}
