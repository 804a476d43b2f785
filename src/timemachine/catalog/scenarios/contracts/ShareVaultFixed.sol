// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ShareVaultFixed
/// @notice An ETH vault whose shares (1 share = 1 wei) can be moved between accounts, so a
///         position can be handed over without withdrawing it.
/// @dev FIXED version of ShareVault: `redeemAll` zeroes the shares before paying, and `transfer`
///      and `redeemAll` share a reentrancy guard (a new slot after the original ones).
contract ShareVaultFixed {
    mapping(address => uint256) public sharesOf;
    uint256 public totalShares;
    /// @dev FIX: a reentrancy lock, appended after the original slots (same layout otherwise).
    uint256 private _locked;

    modifier nonReentrant() {
        require(_locked == 0, "ShareVault: reentrant call");
        _locked = 1;
        _;
        _locked = 0;
    }

    event Deposited(address indexed account, uint256 amount);
    event Redeemed(address indexed account, uint256 amount);
    event SharesTransferred(address indexed from, address indexed to, uint256 shares);

    /// @notice Deposit `msg.value` wei for as many shares.
    function deposit() external payable {
        require(msg.value > 0, "ShareVault: zero deposit");
        sharesOf[msg.sender] += msg.value;
        totalShares += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Move `shares` of the caller's position to `to`.
    function transfer(address to, uint256 shares) external nonReentrant {
        require(to != address(0), "ShareVault: zero receiver");
        require(sharesOf[msg.sender] >= shares, "ShareVault: insufficient shares");
        sharesOf[msg.sender] -= shares;
        sharesOf[to] += shares;
        emit SharesTransferred(msg.sender, to, shares);
    }

    /// @notice Redeem every share of the caller for ETH.
    function redeemAll() external nonReentrant {
        uint256 shares = sharesOf[msg.sender];
        require(shares > 0, "ShareVault: no shares");
        // FIX: effects before the interaction, and `transfer` is locked while it runs.
        sharesOf[msg.sender] = 0;
        totalShares -= shares;
        emit Redeemed(msg.sender, shares);
        (bool ok, ) = msg.sender.call{value: shares}("");
        require(ok, "ShareVault: ETH transfer failed");
    }
}
