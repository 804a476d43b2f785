// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Market {
    function balanceOf(address) external view returns (uint256);
    function transfer(address, uint256) external returns (bool);
    function transferFrom(address, address, uint256) external returns (bool);
}

interface IReservePair {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
}

/// @title SpotLendingMarketFixed
/// @notice A single-collateral lending market in the style of a Compound fork: suppliers lend the
///         borrow asset, borrowers post the collateral asset and borrow up to a collateral factor,
///         and underwater positions are liquidated with a bonus.
/// @dev FIXED version of SpotLendingMarket (same storage layout and immutables): the collateral
///      price is refused when the pair's reserves changed in the current block.
contract SpotLendingMarketFixed {
    uint256 public constant COLLATERAL_FACTOR_BPS = 7_500;
    uint256 public constant LIQUIDATION_BONUS_BPS = 10_800;
    uint256 public constant CLOSE_FACTOR_BPS = 5_000;
    uint256 private constant BPS = 10_000;
    uint256 private constant ONE = 1e18;

    IERC20Market public immutable borrowAsset;
    IERC20Market public immutable collateralAsset;
    IReservePair public immutable pair;
    bool private immutable collateralIsToken0;

    uint256 public totalSupplied;
    uint256 public totalBorrows;
    mapping(address => uint256) public supplied;
    mapping(address => uint256) public collateralOf;
    mapping(address => uint256) public borrowBalanceOf;

    event Mint(address minter, uint256 mintAmount, uint256 mintTokens);
    event Redeem(address redeemer, uint256 redeemAmount, uint256 redeemTokens);
    event Deposit(address indexed account, uint256 amount);
    event Withdraw(address indexed account, uint256 amount);
    event Borrow(address borrower, uint256 borrowAmount, uint256 accountBorrows, uint256 totalBorrows);
    event RepayBorrow(
        address payer, address borrower, uint256 repayAmount, uint256 accountBorrows, uint256 totalBorrows
    );
    event LiquidateBorrow(
        address liquidator, address borrower, uint256 repayAmount, address cTokenCollateral, uint256 seizeTokens
    );

    constructor(IERC20Market borrowAsset_, IERC20Market collateralAsset_, IReservePair pair_) {
        borrowAsset = borrowAsset_;
        collateralAsset = collateralAsset_;
        pair = pair_;
        collateralIsToken0 = pair_.token0() == address(collateralAsset_);
    }

    /// @notice Collateral price: borrow-asset base units per 1e18 collateral base units, from the
    ///         pair's reserves. FIX (guarded oracle): refused when the reserves were updated in
    ///         the current block, so a price moved by a swap (or flash loan) in the same block,
    ///         let alone the same transaction, is never used.
    function collateralPrice() public view returns (uint256) {
        (uint112 reserve0, uint112 reserve1, uint32 updated) = pair.getReserves();
        require(updated != uint32(block.timestamp), "Market: price moved in this block");
        (uint256 collateralReserve, uint256 borrowReserve) =
            collateralIsToken0 ? (uint256(reserve0), uint256(reserve1)) : (uint256(reserve1), uint256(reserve0));
        return (borrowReserve * ONE) / collateralReserve;
    }

    /// @notice The most `account` may owe: its collateral's value times the collateral factor.
    function borrowLimit(address account) public view returns (uint256) {
        return (collateralOf[account] * collateralPrice() * COLLATERAL_FACTOR_BPS) / (ONE * BPS);
    }

    /// @notice Lend `amount` of the borrow asset to the market.
    function mint(uint256 amount) external {
        require(borrowAsset.transferFrom(msg.sender, address(this), amount), "Market: transfer failed");
        supplied[msg.sender] += amount;
        totalSupplied += amount;
        emit Mint(msg.sender, amount, amount);
    }

    /// @notice Take back `amount` of what the caller supplied, if the market has the cash.
    function redeem(uint256 amount) external {
        supplied[msg.sender] -= amount;
        totalSupplied -= amount;
        require(borrowAsset.transfer(msg.sender, amount), "Market: transfer failed");
        emit Redeem(msg.sender, amount, amount);
    }

    /// @notice Post `amount` of the collateral asset.
    function depositCollateral(uint256 amount) external {
        require(collateralAsset.transferFrom(msg.sender, address(this), amount), "Market: transfer failed");
        collateralOf[msg.sender] += amount;
        emit Deposit(msg.sender, amount);
    }

    /// @notice Withdraw `amount` of collateral, keeping the position within its borrow limit.
    function withdrawCollateral(uint256 amount) external {
        collateralOf[msg.sender] -= amount;
        require(borrowBalanceOf[msg.sender] <= borrowLimit(msg.sender), "Market: insufficient collateral");
        require(collateralAsset.transfer(msg.sender, amount), "Market: transfer failed");
        emit Withdraw(msg.sender, amount);
    }

    /// @notice Borrow `amount` of the borrow asset against the caller's collateral.
    function borrow(uint256 amount) external {
        uint256 owed = borrowBalanceOf[msg.sender] + amount;
        require(owed <= borrowLimit(msg.sender), "Market: insufficient collateral");
        borrowBalanceOf[msg.sender] = owed;
        totalBorrows += amount;
        require(borrowAsset.transfer(msg.sender, amount), "Market: transfer failed");
        emit Borrow(msg.sender, amount, owed, totalBorrows);
    }

    /// @notice Repay `amount` of the caller's debt.
    function repayBorrow(uint256 amount) external {
        _repay(msg.sender, msg.sender, amount);
    }

    /// @notice Repay up to half of an underwater `borrower`'s debt and seize collateral worth the
    ///         repaid amount plus the liquidation bonus, at the current price.
    function liquidate(address borrower, uint256 repayAmount) external {
        require(borrowBalanceOf[borrower] > borrowLimit(borrower), "Market: position is healthy");
        require(repayAmount * BPS <= borrowBalanceOf[borrower] * CLOSE_FACTOR_BPS, "Market: above close factor");
        uint256 seizeTokens = (repayAmount * LIQUIDATION_BONUS_BPS * ONE) / (BPS * collateralPrice());
        require(seizeTokens <= collateralOf[borrower], "Market: not enough collateral");
        _repay(msg.sender, borrower, repayAmount);
        collateralOf[borrower] -= seizeTokens;
        require(collateralAsset.transfer(msg.sender, seizeTokens), "Market: transfer failed");
        emit LiquidateBorrow(msg.sender, borrower, repayAmount, address(collateralAsset), seizeTokens);
    }

    function _repay(address payer, address borrower, uint256 amount) private {
        require(borrowAsset.transferFrom(payer, address(this), amount), "Market: transfer failed");
        uint256 owed = borrowBalanceOf[borrower] - amount;
        borrowBalanceOf[borrower] = owed;
        totalBorrows -= amount;
        emit RepayBorrow(payer, borrower, amount, owed, totalBorrows);
    }
}
