// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface ITransferFrom {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @notice Users approve the hub once and pay anyone through it. `batch` was meant to bundle
///         hub calls, but it calls any target with any data, as the hub.
contract ApprovalHub {
    struct Call {
        address target;
        bytes data;
    }

    event Paid(address indexed token, address indexed from, address indexed to, uint256 amount);

    error CallFailed(uint256 index, bytes reason);

    function pay(ITransferFrom token, address to, uint256 amount) public {
        require(token.transferFrom(msg.sender, to, amount));
        emit Paid(address(token), msg.sender, to, amount);
    }

    function batch(Call[] calldata calls) external returns (bytes[] memory results) {
        results = new bytes[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            (bool ok, bytes memory result) = calls[i].target.call(calls[i].data);
            if (!ok) revert CallFailed(i, result);
            results[i] = result;
        }
    }
}
