// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Lend {
    function balanceOf(address) external view returns (uint256);
    function transfer(address, uint256) external returns (bool);
    function transferFrom(address, address, uint256) external returns (bool);
}

interface IERC3156FlashBorrower {
    function onFlashLoan(address initiator, address token, uint256 amount, uint256 fee, bytes calldata data)
        external
        returns (bytes32);
}

/// @title FlashLender
/// @notice An ERC-3156 flash lender over whatever tokens it holds, charging 0.09% (Aave V2's fee).
contract FlashLender {
    bytes32 public constant CALLBACK_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");
    uint256 public constant FEE_BPS = 9;

    event FlashLoan(address indexed receiver, address indexed token, uint256 amount, uint256 fee);

    function maxFlashLoan(address token) external view returns (uint256) {
        return IERC20Lend(token).balanceOf(address(this));
    }

    function flashFee(address, uint256 amount) public pure returns (uint256) {
        return (amount * FEE_BPS) / 10_000;
    }

    function flashLoan(IERC3156FlashBorrower receiver, address token, uint256 amount, bytes calldata data)
        external
        returns (bool)
    {
        uint256 fee = flashFee(token, amount);
        uint256 balanceBefore = IERC20Lend(token).balanceOf(address(this));
        require(IERC20Lend(token).transfer(address(receiver), amount), "FlashLender: transfer failed");
        require(
            receiver.onFlashLoan(msg.sender, token, amount, fee, data) == CALLBACK_SUCCESS,
            "FlashLender: callback failed"
        );
        require(
            IERC20Lend(token).transferFrom(address(receiver), address(this), amount + fee),
            "FlashLender: repay failed"
        );
        require(IERC20Lend(token).balanceOf(address(this)) >= balanceBefore + fee, "FlashLender: not repaid");
        emit FlashLoan(address(receiver), token, amount, fee);
        return true;
    }
}
