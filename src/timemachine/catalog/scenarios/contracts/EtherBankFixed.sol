// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title EtherBankFixed
/// @notice A small ETH savings bank: deposit, deposit on behalf of someone, withdraw.
/// @dev FIXED version of EtherBank (same storage layout): `_withdraw` writes the reduced balance
///      before it sends ETH (checks-effects-interactions), so a re-entrant call sees the debit.
contract EtherBankFixed {
    mapping(address => uint256) public balances;
    uint256 public totalDeposits;

    event Deposited(address indexed account, address indexed payer, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Deposit `msg.value` into the caller's account.
    function deposit() external payable {
        _credit(msg.sender);
    }

    /// @notice Deposit `msg.value` into `account` (for example a payroll or a gift).
    function depositFor(address account) external payable {
        require(account != address(0), "EtherBank: zero account");
        _credit(account);
    }

    /// @notice Withdraw `amount` wei from the caller's account.
    function withdraw(uint256 amount) external {
        _withdraw(amount);
    }

    /// @notice Withdraw the caller's whole balance.
    function withdrawAll() external {
        _withdraw(balances[msg.sender]);
    }

    function _credit(address account) private {
        require(msg.value > 0, "EtherBank: zero deposit");
        balances[account] += msg.value;
        totalDeposits += msg.value;
        emit Deposited(account, msg.sender, msg.value);
    }

    function _withdraw(uint256 amount) private {
        uint256 balance = balances[msg.sender];
        require(amount > 0 && amount <= balance, "EtherBank: insufficient balance");
        // FIX: checks-effects-interactions. The debit is recorded before the ETH leaves.
        balances[msg.sender] = balance - amount;
        totalDeposits -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, "EtherBank: ETH transfer failed");
    }
}
