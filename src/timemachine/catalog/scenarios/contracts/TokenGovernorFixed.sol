// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IVotesToken {
    function getVotes(address account) external view returns (uint256);
    function totalSupply() external view returns (uint256);
}

/// @title TokenGovernorFixed
/// @notice A token-voting DAO that owns the treasury (ETH and tokens held by this contract) and runs
///         proposals: OpenZeppelin Governor's propose/castVote/execute interface and events, a
///         normal path (voting delay, voting period, quorum, then `execute`) and a Beanstalk-style
///         `emergencyCommit` that executes a proposal at once when its votes exceed two thirds of
///         the token supply.
/// @dev FIXED version of TokenGovernor: `emergencyCommit` refuses a proposal that received votes in
///      the current block, so flash-borrowed votes cannot pass and execute it in one transaction.
contract TokenGovernorFixed {
    enum ProposalState {
        Pending,
        Active,
        Canceled,
        Defeated,
        Succeeded,
        Queued,
        Expired,
        Executed
    }

    struct ProposalCore {
        address proposer;
        uint64 voteStart;
        uint64 voteEnd;
        bool executed;
        uint256 againstVotes;
        uint256 forVotes;
        uint256 abstainVotes;
    }

    string public name;
    IVotesToken public immutable token;
    uint256 public immutable votingDelay;
    uint256 public immutable votingPeriod;
    uint256 public immutable proposalThreshold;
    /// @notice Quorum as a percentage of the token supply.
    uint256 public immutable quorumNumerator;

    mapping(uint256 => ProposalCore) private _proposals;
    mapping(uint256 => mapping(address => bool)) public hasVoted;
    /// @notice FIX: the block of each proposal's latest vote (a slot after the original ones).
    mapping(uint256 => uint256) public lastVoteBlock;

    event ProposalCreated(
        uint256 proposalId,
        address proposer,
        address[] targets,
        uint256[] values,
        string[] signatures,
        bytes[] calldatas,
        uint256 voteStart,
        uint256 voteEnd,
        string description
    );
    event VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason);
    event ProposalExecuted(uint256 proposalId);

    constructor(
        string memory name_,
        IVotesToken token_,
        uint256 votingDelay_,
        uint256 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumNumerator_
    ) {
        name = name_;
        token = token_;
        votingDelay = votingDelay_;
        votingPeriod = votingPeriod_;
        proposalThreshold = proposalThreshold_;
        quorumNumerator = quorumNumerator_;
    }

    /// @notice The treasury accepts ETH.
    receive() external payable {}

    function hashProposal(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(targets, values, calldatas, descriptionHash)));
    }

    function proposalVotes(uint256 proposalId) external view returns (uint256, uint256, uint256) {
        ProposalCore storage p = _proposals[proposalId];
        return (p.againstVotes, p.forVotes, p.abstainVotes);
    }

    function proposalDeadline(uint256 proposalId) external view returns (uint256) {
        return _proposals[proposalId].voteEnd;
    }

    /// @notice The votes a proposal needs: `quorumNumerator` percent of the supply.
    function quorum() public view returns (uint256) {
        return (token.totalSupply() * quorumNumerator) / 100;
    }

    function state(uint256 proposalId) public view returns (ProposalState) {
        ProposalCore storage p = _proposals[proposalId];
        require(p.voteStart != 0, "Governor: unknown proposal id");
        if (p.executed) return ProposalState.Executed;
        if (block.number < p.voteStart) return ProposalState.Pending;
        if (block.number <= p.voteEnd) return ProposalState.Active;
        if (p.forVotes >= quorum() && p.forVotes > p.againstVotes) return ProposalState.Succeeded;
        return ProposalState.Defeated;
    }

    /// @notice Create a proposal; voting opens `votingDelay` blocks later.
    function propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description
    ) external returns (uint256 proposalId) {
        require(token.getVotes(msg.sender) >= proposalThreshold, "Governor: proposer votes below threshold");
        require(targets.length == values.length && targets.length == calldatas.length, "Governor: invalid proposal length");
        require(targets.length > 0, "Governor: empty proposal");
        proposalId = hashProposal(targets, values, calldatas, keccak256(bytes(description)));
        ProposalCore storage p = _proposals[proposalId];
        require(p.voteStart == 0, "Governor: proposal already exists");
        p.proposer = msg.sender;
        p.voteStart = uint64(block.number + votingDelay);
        p.voteEnd = uint64(block.number + votingDelay + votingPeriod);
        emit ProposalCreated(
            proposalId,
            msg.sender,
            targets,
            values,
            new string[](targets.length),
            calldatas,
            p.voteStart,
            p.voteEnd,
            description
        );
    }

    /// @notice Vote on an active proposal: 0 against, 1 for, 2 abstain.
    function castVote(uint256 proposalId, uint8 support) external returns (uint256) {
        return _castVote(proposalId, msg.sender, support, "");
    }

    function castVoteWithReason(uint256 proposalId, uint8 support, string calldata reason)
        external
        returns (uint256)
    {
        return _castVote(proposalId, msg.sender, support, reason);
    }

    /// @notice Execute a proposal that passed: its voting period is over, quorum was reached and
    ///         more votes were for it than against it.
    function execute(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) external payable returns (uint256 proposalId) {
        proposalId = hashProposal(targets, values, calldatas, descriptionHash);
        require(state(proposalId) == ProposalState.Succeeded, "Governor: proposal not successful");
        _execute(proposalId, targets, values, calldatas);
    }

    /// @notice Execute an open proposal immediately when more than two thirds of all tokens voted
    ///         for it (Beanstalk's emergencyCommit).
    function emergencyCommit(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) external returns (uint256 proposalId) {
        proposalId = hashProposal(targets, values, calldatas, descriptionHash);
        require(state(proposalId) == ProposalState.Active, "Governor: proposal not active");
        // FIX: no vote and emergency execution in one block: borrowed (flash) votes cannot stay.
        require(lastVoteBlock[proposalId] < block.number, "Governor: votes cast in this block");
        require(
            _proposals[proposalId].forVotes * 3 > token.totalSupply() * 2,
            "Governor: no supermajority"
        );
        _execute(proposalId, targets, values, calldatas);
    }

    function _castVote(uint256 proposalId, address voter, uint8 support, string memory reason)
        private
        returns (uint256 weight)
    {
        require(state(proposalId) == ProposalState.Active, "Governor: vote not currently active");
        require(!hasVoted[proposalId][voter], "Governor: vote already cast");
        require(support <= 2, "Governor: invalid vote type");
        hasVoted[proposalId][voter] = true;
        lastVoteBlock[proposalId] = block.number;
        weight = token.getVotes(voter);
        ProposalCore storage p = _proposals[proposalId];
        if (support == 0) p.againstVotes += weight;
        else if (support == 1) p.forVotes += weight;
        else p.abstainVotes += weight;
        emit VoteCast(voter, proposalId, support, weight, reason);
    }

    function _execute(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas
    ) private {
        _proposals[proposalId].executed = true;
        emit ProposalExecuted(proposalId);
        for (uint256 i = 0; i < targets.length; ++i) {
            (bool ok, bytes memory returned) = targets[i].call{value: values[i]}(calldatas[i]);
            if (!ok) {
                assembly {
                    revert(add(returned, 32), mload(returned))
                }
            }
        }
    }
}
