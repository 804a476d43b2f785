// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ChequeBank
/// @notice Accounts hold ETH; an account holder pays someone off-chain by signing a cheque
///         (payer, payee, amount), which the payee cashes against the payer's balance.
/// @dev DELIBERATELY VULNERABLE (devnet scenario "signature-replay-cheque"): the signed message has
///      no nonce and no domain (contract, chain), and cashed cheques are not recorded, so one cheque
///      can be cashed again and again until the payer's account is empty.
contract ChequeBank {
    mapping(address => uint256) public balanceOf;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event ChequeCashed(address indexed payer, address indexed payee, uint256 amount);

    function deposit() external payable {
        require(msg.value > 0, "ChequeBank: zero deposit");
        balanceOf[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        require(balanceOf[msg.sender] >= amount, "ChequeBank: insufficient balance");
        balanceOf[msg.sender] -= amount;
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, "ChequeBank: ETH transfer failed");
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice The EIP-191 digest a payer signs for a cheque.
    function chequeDigest(address payer, address payee, uint256 amount) public pure returns (bytes32) {
        bytes32 cheque = keccak256(abi.encodePacked(payer, payee, amount));
        return keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", cheque));
    }

    /// @notice Cash a cheque signed by `payer`: pay `amount` of the payer's balance to `payee`.
    function cash(address payer, address payee, uint256 amount, bytes calldata signature) external {
        require(signature.length == 65, "ChequeBank: bad signature length");
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        address signer = ecrecover(chequeDigest(payer, payee, amount), v, r, s);
        require(signer != address(0) && signer == payer, "ChequeBank: bad signature");
        // BUG: nothing marks this cheque as cashed; the same signature verifies every time.
        require(balanceOf[payer] >= amount, "ChequeBank: insufficient balance");
        balanceOf[payer] -= amount;
        (bool ok, ) = payee.call{value: amount}("");
        require(ok, "ChequeBank: ETH transfer failed");
        emit ChequeCashed(payer, payee, amount);
    }
}
