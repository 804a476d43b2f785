// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Asset {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title YieldVaultFixed
/// @notice An ERC-4626 tokenized vault over one ERC-20 asset. Vault shares are an ERC-20 token
///         with the asset's decimals; the vault's assets are whatever asset balance it holds.
/// @dev FIXED version of YieldVault (same storage layout and immutables): virtual shares and
///      assets in the share math (a decimals offset of 6) and no deposit that mints 0 shares.
contract YieldVaultFixed {
    IERC20Asset public immutable asset;
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    /// @dev FIX: virtual shares and assets (OpenZeppelin ERC-4626 decimals offset). A constant,
    ///      not a slot, so the storage layout is the original's.
    uint256 private constant VIRTUAL_SHARES = 10 ** 6;
    uint256 private constant VIRTUAL_ASSETS = 1;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Deposit(address indexed sender, address indexed owner, uint256 assets, uint256 shares);
    event Withdraw(
        address indexed sender,
        address indexed receiver,
        address indexed owner,
        uint256 assets,
        uint256 shares
    );

    constructor(address asset_, string memory name_, string memory symbol_, uint8 decimals_) {
        asset = IERC20Asset(asset_);
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    // ----------------------------------------------------------------- ERC-20 shares

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
        _spendAllowance(from, msg.sender, amount);
        _transfer(from, to, amount);
        return true;
    }

    // ----------------------------------------------------------------- ERC-4626 accounting

    /// @notice The assets the vault manages: its whole asset balance (donations count, but the
    ///         virtual shares make inflating the share price cost the donor far more than it can
    ///         take).
    function totalAssets() public view returns (uint256) {
        return asset.balanceOf(address(this));
    }

    /// @notice Shares `assets` is worth at the current exchange rate, rounded down.
    function convertToShares(uint256 assets) public view returns (uint256) {
        return (assets * (totalSupply + VIRTUAL_SHARES)) / (totalAssets() + VIRTUAL_ASSETS);
    }

    /// @notice Assets `shares` is worth at the current exchange rate, rounded down.
    function convertToAssets(uint256 shares) public view returns (uint256) {
        return (shares * (totalAssets() + VIRTUAL_ASSETS)) / (totalSupply + VIRTUAL_SHARES);
    }

    function maxDeposit(address) external pure returns (uint256) {
        return type(uint256).max;
    }

    function maxMint(address) external pure returns (uint256) {
        return type(uint256).max;
    }

    function maxWithdraw(address owner) external view returns (uint256) {
        return convertToAssets(balanceOf[owner]);
    }

    function maxRedeem(address owner) external view returns (uint256) {
        return balanceOf[owner];
    }

    function previewDeposit(uint256 assets) public view returns (uint256) {
        return convertToShares(assets);
    }

    /// @notice Assets needed to mint `shares`, rounded up.
    function previewMint(uint256 shares) public view returns (uint256) {
        return _divUp(shares * (totalAssets() + VIRTUAL_ASSETS), totalSupply + VIRTUAL_SHARES);
    }

    /// @notice Shares burnt to withdraw `assets`, rounded up.
    function previewWithdraw(uint256 assets) public view returns (uint256) {
        return _divUp(assets * (totalSupply + VIRTUAL_SHARES), totalAssets() + VIRTUAL_ASSETS);
    }

    function previewRedeem(uint256 shares) public view returns (uint256) {
        return convertToAssets(shares);
    }

    // ----------------------------------------------------------------- ERC-4626 entry points

    /// @notice Deposit `assets` for `receiver`; returns the shares minted (never 0).
    function deposit(uint256 assets, address receiver) external returns (uint256 shares) {
        shares = previewDeposit(assets);
        require(shares > 0, "YieldVault: zero shares");
        _deposit(receiver, assets, shares);
    }

    /// @notice Mint exactly `shares` for `receiver`; returns the assets pulled.
    function mint(uint256 shares, address receiver) external returns (uint256 assets) {
        assets = previewMint(shares);
        _deposit(receiver, assets, shares);
    }

    /// @notice Withdraw exactly `assets` of `owner`'s position to `receiver`.
    function withdraw(uint256 assets, address receiver, address owner) external returns (uint256 shares) {
        shares = previewWithdraw(assets);
        _withdraw(receiver, owner, assets, shares);
    }

    /// @notice Redeem `shares` of `owner` for assets paid to `receiver`.
    function redeem(uint256 shares, address receiver, address owner) external returns (uint256 assets) {
        assets = previewRedeem(shares);
        require(assets > 0, "YieldVault: zero assets");
        _withdraw(receiver, owner, assets, shares);
    }

    // ----------------------------------------------------------------- internals

    function _deposit(address receiver, uint256 assets, uint256 shares) private {
        require(asset.transferFrom(msg.sender, address(this), assets), "YieldVault: transfer failed");
        totalSupply += shares;
        balanceOf[receiver] += shares;
        emit Transfer(address(0), receiver, shares);
        emit Deposit(msg.sender, receiver, assets, shares);
    }

    function _withdraw(address receiver, address owner, uint256 assets, uint256 shares) private {
        if (msg.sender != owner) {
            _spendAllowance(owner, msg.sender, shares);
        }
        require(balanceOf[owner] >= shares, "YieldVault: insufficient shares");
        balanceOf[owner] -= shares;
        totalSupply -= shares;
        emit Transfer(owner, address(0), shares);
        require(asset.transfer(receiver, assets), "YieldVault: transfer failed");
        emit Withdraw(msg.sender, receiver, owner, assets, shares);
    }

    function _transfer(address from, address to, uint256 amount) private {
        require(to != address(0), "YieldVault: transfer to zero");
        require(balanceOf[from] >= amount, "YieldVault: insufficient shares");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }

    function _spendAllowance(address owner, address spender, uint256 amount) private {
        uint256 allowed = allowance[owner][spender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "YieldVault: insufficient allowance");
            allowance[owner][spender] = allowed - amount;
        }
    }

    function _divUp(uint256 numerator, uint256 denominator) private pure returns (uint256) {
        return (numerator + denominator - 1) / denominator;
    }
}
