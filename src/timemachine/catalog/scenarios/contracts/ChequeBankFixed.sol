// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ChequeBankFixed
/// @notice Accounts hold ETH; an account holder pays someone off-chain by signing a cheque
///         (payer, payee, amount), which the payee cashes against the payer's balance.
/// @dev FIXED version of ChequeBank (same storage layout plus a slot, same functions): the signed
///      digest carries the payer's nonce and the domain; cashing spends the nonce. Cheques signed
///      in the old format (no nonce, no domain) no longer verify.
contract ChequeBankFixed {
    mapping(address => uint256) public balanceOf;
    /// @notice FIX: each payer's next cheque nonce (a slot after the original one), as in EIP-2612.
    mapping(address => uint256) public nonces;

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

    /// @notice The EIP-191 digest a payer signs for its next cheque. FIX: it binds the payer's
    ///         current nonce and the domain (this contract and the chain id), so a signed cheque
    ///         is valid once, on this contract and chain only.
    function chequeDigest(address payer, address payee, uint256 amount) public view returns (bytes32) {
        uint256 nonce = nonces[payer];
        bytes32 cheque = keccak256(abi.encodePacked(address(this), block.chainid, payer, payee, amount, nonce));
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
        nonces[payer] += 1; // the signature is spent: it never verifies again
        require(balanceOf[payer] >= amount, "ChequeBank: insufficient balance");
        balanceOf[payer] -= amount;
        (bool ok, ) = payee.call{value: amount}("");
        require(ok, "ChequeBank: ETH transfer failed");
        emit ChequeCashed(payer, payee, amount);
    }
}
