// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Reserve {
    function decimals() external view returns (uint8);
    function transfer(address, uint256) external returns (bool);
    function transferFrom(address, address, uint256) external returns (bool);
}

interface IAssetPriceOracle {
    function getAssetPrice(address asset) external view returns (uint256);
}

/// @title ReserveLendingPool
/// @notice An Aave V2-style lending pool: the same deposit/borrow/repay/liquidationCall
///         signatures and Deposit/Borrow/LiquidationCall events, health factor from the oracle's
///         prices and each reserve's liquidation threshold, a 50% close factor and a liquidation
///         bonus. Simplified: balances are plain ledgers (no aTokens, so `receiveAToken` must be
///         false), one borrow rate mode, and no interest accrues.
contract ReserveLendingPool {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant CLOSE_FACTOR_BPS = 5_000;
    uint256 internal constant HEALTH_ONE = 1e18;

    struct Reserve {
        uint256 ltv;
        uint256 liquidationThreshold;
        uint256 liquidationBonus;
        uint8 decimals;
        bool active;
    }

    address public immutable admin;
    IAssetPriceOracle public immutable oracle;
    address[] public reserveList;
    mapping(address => Reserve) public reserves;
    mapping(address => mapping(address => uint256)) public deposits;
    mapping(address => mapping(address => uint256)) public debts;

    event Deposit(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referral);
    event Borrow(
        address indexed reserve,
        address user,
        address indexed onBehalfOf,
        uint256 amount,
        uint256 borrowRateMode,
        uint256 borrowRate,
        uint16 indexed referral
    );
    event Repay(address indexed reserve, address indexed user, address indexed repayer, uint256 amount);
    event LiquidationCall(
        address indexed collateralAsset,
        address indexed debtAsset,
        address indexed user,
        uint256 debtToCover,
        uint256 liquidatedCollateralAmount,
        address liquidator,
        bool receiveAToken
    );

    constructor(IAssetPriceOracle oracle_) {
        admin = msg.sender;
        oracle = oracle_;
    }

    /// @param ltv, liquidationThreshold and liquidationBonus in basis points (bonus 10500 = +5%)
    function initReserve(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus) external {
        require(msg.sender == admin, "ReserveLendingPool: not admin");
        require(!reserves[asset].active, "ReserveLendingPool: reserve exists");
        require(ltv <= liquidationThreshold && liquidationThreshold < BPS && liquidationBonus >= BPS, "ReserveLendingPool: bad parameters");
        reserves[asset] = Reserve(ltv, liquidationThreshold, liquidationBonus, IERC20Reserve(asset).decimals(), true);
        reserveList.push(asset);
    }

    function deposit(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external {
        require(reserves[asset].active, "ReserveLendingPool: no reserve");
        IERC20Reserve(asset).transferFrom(msg.sender, address(this), amount);
        deposits[onBehalfOf][asset] += amount;
        emit Deposit(asset, msg.sender, onBehalfOf, amount, referralCode);
    }

    function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)
        external
    {
        require(onBehalfOf == msg.sender, "ReserveLendingPool: no credit delegation");
        require(reserves[asset].active, "ReserveLendingPool: no reserve");
        debts[onBehalfOf][asset] += amount;
        (uint256 collateral, uint256 debt,) = _values(onBehalfOf);
        require(debt * BPS <= collateral, "ReserveLendingPool: collateral cannot cover the borrow");
        IERC20Reserve(asset).transfer(msg.sender, amount);
        emit Borrow(asset, msg.sender, onBehalfOf, amount, interestRateMode, 0, referralCode);
    }

    function repay(address asset, uint256 amount, uint256, address onBehalfOf) external returns (uint256) {
        uint256 owed = debts[onBehalfOf][asset];
        uint256 paid = amount < owed ? amount : owed;
        IERC20Reserve(asset).transferFrom(msg.sender, address(this), paid);
        debts[onBehalfOf][asset] = owed - paid;
        emit Repay(asset, onBehalfOf, msg.sender, paid);
        return paid;
    }

    /// @notice 1e18 = at the liquidation threshold; below it the user can be liquidated.
    function healthFactor(address user) public view returns (uint256) {
        (, uint256 debt, uint256 threshold) = _values(user);
        return debt == 0 ? type(uint256).max : threshold * HEALTH_ONE / (debt * BPS);
    }

    function liquidationCall(
        address collateralAsset,
        address debtAsset,
        address user,
        uint256 debtToCover,
        bool receiveAToken
    ) external {
        require(!receiveAToken, "ReserveLendingPool: no aTokens here");
        require(healthFactor(user) < HEALTH_ONE, "ReserveLendingPool: health factor not below threshold");
        uint256 maxCover = debts[user][debtAsset] * CLOSE_FACTOR_BPS / BPS;
        uint256 covered = debtToCover < maxCover ? debtToCover : maxCover;
        Reserve storage debtReserve = reserves[debtAsset];
        Reserve storage collateralReserve = reserves[collateralAsset];
        uint256 seized = covered * oracle.getAssetPrice(debtAsset) * 10 ** collateralReserve.decimals
            * collateralReserve.liquidationBonus
            / (oracle.getAssetPrice(collateralAsset) * 10 ** debtReserve.decimals * BPS);
        uint256 available = deposits[user][collateralAsset];
        if (seized > available) {
            covered = covered * available / seized;
            seized = available;
        }
        IERC20Reserve(debtAsset).transferFrom(msg.sender, address(this), covered);
        debts[user][debtAsset] -= covered;
        deposits[user][collateralAsset] -= seized;
        IERC20Reserve(collateralAsset).transfer(msg.sender, seized);
        emit LiquidationCall(collateralAsset, debtAsset, user, covered, seized, msg.sender, receiveAToken);
    }

    /// @dev (collateral borrowing power, debt, collateral at liquidation threshold), all in oracle
    ///      units times basis points for the first and last.
    function _values(address user) private view returns (uint256 power, uint256 debt, uint256 threshold) {
        for (uint256 i; i < reserveList.length; i++) {
            address asset = reserveList[i];
            Reserve storage reserve = reserves[asset];
            uint256 unit = 10 ** reserve.decimals;
            uint256 price = oracle.getAssetPrice(asset);
            uint256 supplied = deposits[user][asset] * price / unit;
            power += supplied * reserve.ltv;
            threshold += supplied * reserve.liquidationThreshold;
            debt += debts[user][asset] * price / unit;
        }
    }
}
