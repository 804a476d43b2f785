// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ShareVault
/// @notice An ETH vault whose shares (1 share = 1 wei) can be moved between accounts, so a
///         position can be handed over without withdrawing it.
/// @dev DELIBERATELY VULNERABLE (devnet scenario "reentrancy-vault-shares"): `redeemAll` pays the
///      caller before it zeroes the caller's shares, and `transfer` has no reentrancy guard. While
///      the payment is in flight a contract caller can `transfer` the shares it is being paid for
///      to an accomplice, which redeems them again (cross-function reentrancy, as in Lendf.Me).
contract ShareVault {
    mapping(address => uint256) public sharesOf;
    uint256 public totalShares;

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
    function transfer(address to, uint256 shares) external {
        require(to != address(0), "ShareVault: zero receiver");
        require(sharesOf[msg.sender] >= shares, "ShareVault: insufficient shares");
        sharesOf[msg.sender] -= shares;
        sharesOf[to] += shares;
        emit SharesTransferred(msg.sender, to, shares);
    }

    /// @notice Redeem every share of the caller for ETH.
    function redeemAll() external {
        uint256 shares = sharesOf[msg.sender];
        require(shares > 0, "ShareVault: no shares");
        // BUG: interaction before effects; `transfer` still sees the shares being paid out.
        (bool ok, ) = msg.sender.call{value: shares}("");
        require(ok, "ShareVault: ETH transfer failed");
        sharesOf[msg.sender] = 0;
        totalShares -= shares;
        emit Redeemed(msg.sender, shares);
    }
}
