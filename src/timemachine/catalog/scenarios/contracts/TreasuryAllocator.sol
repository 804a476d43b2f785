// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IAllocatorAsset {
    function balanceOf(address account) external view returns (uint256);
    function approve(address spender, uint256 amount) external returns (bool);
}

interface IAllocatorVault {
    function deposit(uint256 assets, address receiver) external returns (uint256 shares);
    function redeem(uint256 shares, address receiver, address owner) external returns (uint256 assets);
}

/// @title TreasuryAllocator
/// @notice Holds the protocol treasury's idle stablecoins and puts them to work in an ERC-4626
///         yield vault. `allocate` is a permissionless keeper function: anyone may trigger it
///         (keepers are rewarded off-chain), and it deposits every idle token into the vault for
///         the treasury. Only the governor can take assets back out.
/// @dev The allocator trusts the vault's exchange rate: it accepts whatever number of shares the
///      deposit mints (no minimum-shares check), so a caller who has just inflated the vault's
///      share price can make it deposit everything for 0 shares.
contract TreasuryAllocator {
    IAllocatorAsset public immutable asset;
    IAllocatorVault public immutable vault;
    address public immutable governor;

    event Allocated(address indexed keeper, uint256 assets, uint256 shares);
    event Released(address indexed to, uint256 shares, uint256 assets);

    constructor(address asset_, address vault_) {
        asset = IAllocatorAsset(asset_);
        vault = IAllocatorVault(vault_);
        governor = msg.sender;
    }

    /// @notice Deposit every idle asset into the vault (anyone may call).
    function allocate() external returns (uint256 shares) {
        uint256 idle = asset.balanceOf(address(this));
        require(idle > 0, "TreasuryAllocator: nothing idle");
        require(asset.approve(address(vault), idle), "TreasuryAllocator: approve failed");
        shares = vault.deposit(idle, address(this));
        emit Allocated(msg.sender, idle, shares);
    }

    /// @notice Redeem `shares` of the treasury's position and pay the assets to `to`.
    function release(uint256 shares, address to) external returns (uint256 assets) {
        require(msg.sender == governor, "TreasuryAllocator: not governor");
        assets = vault.redeem(shares, to, address(this));
        emit Released(to, shares, assets);
    }
}
