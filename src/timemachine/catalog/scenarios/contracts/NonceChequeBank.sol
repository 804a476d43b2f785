// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title NonceChequeBank
/// @notice ChequeBank done right: a cheque names this contract, the chain and a per-payer nonce,
///         and a cashed nonce is spent, so each signed cheque pays exactly once.
///         The devnet's benign control "cheque-cashed-once" (looks like ChequeBank, is not).
contract NonceChequeBank {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(uint256 => bool)) public nonceUsed;

    event Deposited(address indexed account, uint256 amount);
    event ChequeCashed(address indexed payer, address indexed payee, uint256 amount, uint256 nonce);

    function deposit() external payable {
        require(msg.value > 0, "NonceChequeBank: zero deposit");
        balanceOf[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice The EIP-191 digest a payer signs for cheque `nonce`.
    function chequeDigest(
        address payer,
        address payee,
        uint256 amount,
        uint256 nonce
    ) public view returns (bytes32) {
        bytes32 cheque = keccak256(
            abi.encode(address(this), block.chainid, payer, payee, amount, nonce)
        );
        return keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", cheque));
    }

    function cash(
        address payer,
        address payee,
        uint256 amount,
        uint256 nonce,
        bytes calldata signature
    ) external {
        require(signature.length == 65, "NonceChequeBank: bad signature length");
        require(!nonceUsed[payer][nonce], "NonceChequeBank: cheque already cashed");
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        address signer = ecrecover(chequeDigest(payer, payee, amount, nonce), v, r, s);
        require(signer != address(0) && signer == payer, "NonceChequeBank: bad signature");
        require(balanceOf[payer] >= amount, "NonceChequeBank: insufficient balance");
        nonceUsed[payer][nonce] = true;
        balanceOf[payer] -= amount;
        (bool ok, ) = payee.call{value: amount}("");
        require(ok, "NonceChequeBank: ETH transfer failed");
        emit ChequeCashed(payer, payee, amount, nonce);
    }
}
