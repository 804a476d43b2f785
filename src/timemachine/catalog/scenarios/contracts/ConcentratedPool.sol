// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Pool {
    function balanceOf(address) external view returns (uint256);
    function transfer(address, uint256) external returns (bool);
}

interface IConcentratedMintCallback {
    function uniswapV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata data) external;
}

interface IConcentratedSwapCallback {
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external;
}

/// @title ConcentratedPool
/// @notice A Uniswap V3-style concentrated-liquidity pool: the same external functions
///         (mint/burn/collect/swap with their callbacks and return values), the same events,
///         the same Q64.96 price, tick and fee arithmetic (TickMath, SqrtPriceMath, SwapMath).
///         Simplified where a devnet does not need more: positions must contain the current
///         price, swaps are exact-input and may not cross an initialized tick (so the active
///         liquidity never changes inside a swap and fee growth inside every position equals
///         the global fee growth), and there are no oracle observations or protocol fees.
contract ConcentratedPool {
    int24 internal constant MIN_TICK = -887272;
    int24 internal constant MAX_TICK = 887272;
    uint256 internal constant Q96 = 0x1000000000000000000000000;
    uint256 internal constant Q128 = 0x100000000000000000000000000000000;

    address public immutable token0;
    address public immutable token1;
    uint24 public immutable fee;
    int24 public immutable tickSpacing;

    uint160 public sqrtPriceX96;
    int24 public tick;
    uint128 public liquidity;
    uint256 public feeGrowthGlobal0X128;
    uint256 public feeGrowthGlobal1X128;

    struct Position {
        uint128 liquidity;
        uint256 feeGrowthInside0LastX128;
        uint256 feeGrowthInside1LastX128;
        uint128 tokensOwed0;
        uint128 tokensOwed1;
    }

    mapping(bytes32 => Position) public positions;
    mapping(int24 => uint128) public liquidityGross;
    int24[] private initializedTicks;
    bool private unlocked = true;

    event Mint(
        address sender,
        address indexed owner,
        int24 indexed tickLower,
        int24 indexed tickUpper,
        uint128 amount,
        uint256 amount0,
        uint256 amount1
    );
    event Burn(
        address indexed owner,
        int24 indexed tickLower,
        int24 indexed tickUpper,
        uint128 amount,
        uint256 amount0,
        uint256 amount1
    );
    event Collect(
        address indexed owner,
        address recipient,
        int24 indexed tickLower,
        int24 indexed tickUpper,
        uint128 amount0,
        uint128 amount1
    );
    event Swap(
        address indexed sender,
        address indexed recipient,
        int256 amount0,
        int256 amount1,
        uint160 sqrtPriceX96,
        uint128 liquidity,
        int24 tick
    );

    modifier lock() {
        require(unlocked, "LOK");
        unlocked = false;
        _;
        unlocked = true;
    }

    /// @param initialTick the pool starts at exactly getSqrtRatioAtTick(initialTick)
    constructor(address tokenA, address tokenB, uint24 fee_, int24 tickSpacing_, int24 initialTick) {
        (token0, token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        fee = fee_;
        tickSpacing = tickSpacing_;
        sqrtPriceX96 = getSqrtRatioAtTick(initialTick);
        tick = initialTick;
    }

    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external
        lock
        returns (uint256 amount0, uint256 amount1)
    {
        require(amount > 0, "amount");
        uint160 lower = _checkRange(tickLower, tickUpper);
        uint160 upper = getSqrtRatioAtTick(tickUpper);
        Position storage position = _position(recipient, tickLower, tickUpper);
        _accrue(position);
        position.liquidity += amount;
        _addTick(tickLower, amount);
        _addTick(tickUpper, amount);
        liquidity += amount;
        amount0 = getAmount0Delta(sqrtPriceX96, upper, amount, true);
        amount1 = getAmount1Delta(lower, sqrtPriceX96, amount, true);
        uint256 balance0Before = _balance0();
        uint256 balance1Before = _balance1();
        IConcentratedMintCallback(msg.sender).uniswapV3MintCallback(amount0, amount1, data);
        require(balance0Before + amount0 <= _balance0(), "M0");
        require(balance1Before + amount1 <= _balance1(), "M1");
        emit Mint(msg.sender, recipient, tickLower, tickUpper, amount, amount0, amount1);
    }

    function burn(int24 tickLower, int24 tickUpper, uint128 amount)
        external
        lock
        returns (uint256 amount0, uint256 amount1)
    {
        uint160 lower = _checkRange(tickLower, tickUpper);
        uint160 upper = getSqrtRatioAtTick(tickUpper);
        Position storage position = _position(msg.sender, tickLower, tickUpper);
        require(position.liquidity >= amount, "NP");
        _accrue(position);
        position.liquidity -= amount;
        liquidityGross[tickLower] -= amount;
        liquidityGross[tickUpper] -= amount;
        liquidity -= amount;
        amount0 = getAmount0Delta(sqrtPriceX96, upper, amount, false);
        amount1 = getAmount1Delta(lower, sqrtPriceX96, amount, false);
        position.tokensOwed0 += uint128(amount0);
        position.tokensOwed1 += uint128(amount1);
        emit Burn(msg.sender, tickLower, tickUpper, amount, amount0, amount1);
    }

    function collect(
        address recipient,
        int24 tickLower,
        int24 tickUpper,
        uint128 amount0Requested,
        uint128 amount1Requested
    ) external lock returns (uint128 amount0, uint128 amount1) {
        Position storage position = _position(msg.sender, tickLower, tickUpper);
        amount0 = amount0Requested > position.tokensOwed0 ? position.tokensOwed0 : amount0Requested;
        amount1 = amount1Requested > position.tokensOwed1 ? position.tokensOwed1 : amount1Requested;
        if (amount0 > 0) {
            position.tokensOwed0 -= amount0;
            IERC20Pool(token0).transfer(recipient, amount0);
        }
        if (amount1 > 0) {
            position.tokensOwed1 -= amount1;
            IERC20Pool(token1).transfer(recipient, amount1);
        }
        emit Collect(msg.sender, recipient, tickLower, tickUpper, amount0, amount1);
    }

    /// @notice Exact-input swap (amountSpecified > 0) within the current liquidity range.
    function swap(
        address recipient,
        bool zeroForOne,
        int256 amountSpecified,
        uint160 sqrtPriceLimitX96,
        bytes calldata data
    ) external lock returns (int256 amount0, int256 amount1) {
        require(amountSpecified > 0, "exact input only");
        uint256 amountIn = uint256(amountSpecified);
        (uint160 next, uint256 amountOut) = _step(zeroForOne, amountIn, sqrtPriceLimitX96);
        (amount0, amount1) = zeroForOne
            ? (int256(amountIn), -int256(amountOut))
            : (-int256(amountOut), int256(amountIn));
        (address paid, address owed) = zeroForOne ? (token1, token0) : (token0, token1);
        IERC20Pool(paid).transfer(recipient, amountOut);
        uint256 before = IERC20Pool(owed).balanceOf(address(this));
        IConcentratedSwapCallback(msg.sender).uniswapV3SwapCallback(amount0, amount1, data);
        require(before + amountIn <= IERC20Pool(owed).balanceOf(address(this)), "IIA");
        emit Swap(msg.sender, recipient, amount0, amount1, next, liquidity, tick);
    }

    /// @dev SwapMath.computeSwapStep for an exact input that ends short of its target price:
    ///      move the price, accrue the fee (the whole rest of the input), return the output.
    function _step(bool zeroForOne, uint256 amountIn, uint160 limit) private returns (uint160 next, uint256 amountOut) {
        uint128 active = liquidity;
        require(active > 0, "L");
        uint160 start = sqrtPriceX96;
        uint256 lessFee = mulDiv(amountIn, 1e6 - fee, 1e6);
        uint256 spent;
        if (zeroForOne) {
            uint256 scaled = uint256(active) << 96;
            next = uint160(mulDivRoundingUp(scaled, start, scaled + lessFee * start));
            require(next > limit, "SPL");
            spent = getAmount0Delta(next, start, active, true);
            amountOut = getAmount1Delta(next, start, active, false);
            feeGrowthGlobal0X128 += mulDiv(amountIn - spent, Q128, active);
        } else {
            next = uint160(uint256(start) + (lessFee << 96) / active);
            require(next < limit, "SPL");
            spent = getAmount1Delta(start, next, active, true);
            amountOut = getAmount0Delta(start, next, active, false);
            feeGrowthGlobal1X128 += mulDiv(amountIn - spent, Q128, active);
        }
        _checkNoCrossing(start, next);
        sqrtPriceX96 = next;
        tick = getTickAtSqrtRatio(next);
    }

    // ------------------------------------------------------------------ positions and ticks

    function _position(address owner, int24 tickLower, int24 tickUpper) private view returns (Position storage) {
        return positions[keccak256(abi.encodePacked(owner, tickLower, tickUpper))];
    }

    function _accrue(Position storage position) private {
        uint256 growth0 = feeGrowthGlobal0X128;
        uint256 growth1 = feeGrowthGlobal1X128;
        unchecked {
            position.tokensOwed0 += uint128(
                mulDiv(growth0 - position.feeGrowthInside0LastX128, position.liquidity, Q128)
            );
            position.tokensOwed1 += uint128(
                mulDiv(growth1 - position.feeGrowthInside1LastX128, position.liquidity, Q128)
            );
        }
        position.feeGrowthInside0LastX128 = growth0;
        position.feeGrowthInside1LastX128 = growth1;
    }

    function _checkRange(int24 tickLower, int24 tickUpper) private view returns (uint160) {
        require(tickLower < tickUpper && tickLower >= MIN_TICK && tickUpper <= MAX_TICK, "T");
        require(tickLower % tickSpacing == 0 && tickUpper % tickSpacing == 0, "TS");
        require(tickLower <= tick && tick < tickUpper, "position must contain the current price");
        return getSqrtRatioAtTick(tickLower);
    }

    function _addTick(int24 index, uint128 amount) private {
        if (liquidityGross[index] == 0) {
            bool known;
            for (uint256 i; i < initializedTicks.length; i++) {
                if (initializedTicks[i] == index) known = true;
            }
            if (!known) initializedTicks.push(index);
        }
        liquidityGross[index] += amount;
    }

    function _checkNoCrossing(uint160 from, uint160 to) private view {
        (uint160 low, uint160 high) = from < to ? (from, to) : (to, from);
        for (uint256 i; i < initializedTicks.length; i++) {
            int24 index = initializedTicks[i];
            if (liquidityGross[index] == 0) continue;
            uint160 boundary = getSqrtRatioAtTick(index);
            require(boundary <= low || boundary > high, "swap would cross an initialized tick");
        }
    }

    function _balance0() private view returns (uint256) {
        return IERC20Pool(token0).balanceOf(address(this));
    }

    function _balance1() private view returns (uint256) {
        return IERC20Pool(token1).balanceOf(address(this));
    }

    // ------------------------------------------------------------------ Uniswap V3 math

    /// @notice sqrt(1.0001^tick) * 2^96, as TickMath.getSqrtRatioAtTick.
    function getSqrtRatioAtTick(int24 index) public pure returns (uint160) {
        uint256 absTick = index < 0 ? uint256(-int256(index)) : uint256(int256(index));
        require(absTick <= uint256(int256(MAX_TICK)), "T");
        uint256 ratio = absTick & 0x1 != 0 ? 0xfffcb933bd6fad37aa2d162d1a594001 : 0x100000000000000000000000000000000;
        unchecked {
            if (absTick & 0x2 != 0) ratio = (ratio * 0xfff97272373d413259a46990580e213a) >> 128;
            if (absTick & 0x4 != 0) ratio = (ratio * 0xfff2e50f5f656932ef12357cf3c7fdcc) >> 128;
            if (absTick & 0x8 != 0) ratio = (ratio * 0xffe5caca7e10e4e61c3624eaa0941cd0) >> 128;
            if (absTick & 0x10 != 0) ratio = (ratio * 0xffcb9843d60f6159c9db58835c926644) >> 128;
            if (absTick & 0x20 != 0) ratio = (ratio * 0xff973b41fa98c081472e6896dfb254c0) >> 128;
            if (absTick & 0x40 != 0) ratio = (ratio * 0xff2ea16466c96a3843ec78b326b52861) >> 128;
            if (absTick & 0x80 != 0) ratio = (ratio * 0xfe5dee046a99a2a811c461f1969c3053) >> 128;
            if (absTick & 0x100 != 0) ratio = (ratio * 0xfcbe86c7900a88aedcffc83b479aa3a4) >> 128;
            if (absTick & 0x200 != 0) ratio = (ratio * 0xf987a7253ac413176f2b074cf7815e54) >> 128;
            if (absTick & 0x400 != 0) ratio = (ratio * 0xf3392b0822b70005940c7a398e4b70f3) >> 128;
            if (absTick & 0x800 != 0) ratio = (ratio * 0xe7159475a2c29b7443b29c7fa6e889d9) >> 128;
            if (absTick & 0x1000 != 0) ratio = (ratio * 0xd097f3bdfd2022b8845ad8f792aa5825) >> 128;
            if (absTick & 0x2000 != 0) ratio = (ratio * 0xa9f746462d870fdf8a65dc1f90e061e5) >> 128;
            if (absTick & 0x4000 != 0) ratio = (ratio * 0x70d869a156d2a1b890bb3df62baf32f7) >> 128;
            if (absTick & 0x8000 != 0) ratio = (ratio * 0x31be135f97d08fd981231505542fcfa6) >> 128;
            if (absTick & 0x10000 != 0) ratio = (ratio * 0x9aa508b5b7a84e1c677de54f3e99bc9) >> 128;
            if (absTick & 0x20000 != 0) ratio = (ratio * 0x5d6af8dedb81196699c329225ee604) >> 128;
            if (absTick & 0x40000 != 0) ratio = (ratio * 0x2216e584f5fa1ea926041bedfe98) >> 128;
            if (absTick & 0x80000 != 0) ratio = (ratio * 0x48a170391f7dc42444e8fa2) >> 128;
        }
        if (index > 0) ratio = type(uint256).max / ratio;
        return uint160((ratio >> 32) + (ratio % (1 << 32) == 0 ? 0 : 1));
    }

    /// @notice The greatest tick whose sqrt ratio is at most `price` (TickMath.getTickAtSqrtRatio,
    ///         found by bisection instead of the log2 approximation: same result).
    function getTickAtSqrtRatio(uint160 price) public pure returns (int24) {
        int24 low = MIN_TICK;
        int24 high = MAX_TICK;
        while (low < high) {
            int24 middle = int24((int256(low) + int256(high) + 1) >> 1);
            if (getSqrtRatioAtTick(middle) <= price) low = middle;
            else high = middle - 1;
        }
        return low;
    }

    function getAmount0Delta(uint160 a, uint160 b, uint128 amount, bool roundUp) internal pure returns (uint256) {
        if (a > b) (a, b) = (b, a);
        uint256 numerator1 = uint256(amount) << 96;
        uint256 numerator2 = b - a;
        if (!roundUp) return mulDiv(numerator1, numerator2, b) / a;
        uint256 scaled = mulDivRoundingUp(numerator1, numerator2, b);
        return scaled / a + (scaled % a == 0 ? 0 : 1);
    }

    function getAmount1Delta(uint160 a, uint160 b, uint128 amount, bool roundUp) internal pure returns (uint256) {
        if (a > b) (a, b) = (b, a);
        return roundUp ? mulDivRoundingUp(amount, b - a, Q96) : mulDiv(amount, b - a, Q96);
    }

    /// @notice floor(a * b / denominator) with a 512-bit intermediate product (FullMath.mulDiv).
    function mulDiv(uint256 a, uint256 b, uint256 denominator) internal pure returns (uint256 result) {
        unchecked {
            uint256 prod0;
            uint256 prod1;
            assembly {
                let mm := mulmod(a, b, not(0))
                prod0 := mul(a, b)
                prod1 := sub(sub(mm, prod0), lt(mm, prod0))
            }
            if (prod1 == 0) {
                require(denominator > 0, "div0");
                return prod0 / denominator;
            }
            require(denominator > prod1, "overflow");
            uint256 remainder;
            assembly {
                remainder := mulmod(a, b, denominator)
                prod1 := sub(prod1, gt(remainder, prod0))
                prod0 := sub(prod0, remainder)
            }
            uint256 twos = (0 - denominator) & denominator;
            assembly {
                denominator := div(denominator, twos)
                prod0 := div(prod0, twos)
                twos := add(div(sub(0, twos), twos), 1)
            }
            prod0 |= prod1 * twos;
            uint256 inverse = (3 * denominator) ^ 2;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            result = prod0 * inverse;
        }
    }

    function mulDivRoundingUp(uint256 a, uint256 b, uint256 denominator) internal pure returns (uint256 result) {
        result = mulDiv(a, b, denominator);
        if (mulmod(a, b, denominator) > 0) result += 1;
    }
}
