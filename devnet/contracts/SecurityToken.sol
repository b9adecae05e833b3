// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SecurityToken: an ERC-1400-style security token written for the
/// devnet, with the events of ERC-1410 (partitions), ERC-1594 (issuance,
/// redemption, transfer validity), ERC-1643 (documents) and ERC-1644
/// (controller operations), and ERC-20 Transfer/Approval for compatibility.
/// Event signatures and indexing are the canonical ones (SecurityTokenStandard
/// EIP-Spec and Consensys UniversalToken); the order of events within a call
/// follows UniversalToken: Issued, Transfer, IssuedByPartition on issuance;
/// Redeemed, Transfer, RedeemedByPartition on redemption; Transfer,
/// TransferByPartition [, ChangedPartition] on transfers.  ERC-20 transfer,
/// transferFrom, transferWithData, redeem and the controller operations use
/// the default partition.  The owner issues and manages documents; the
/// controller forces transfers and redemptions.
contract SecurityToken {
    bytes32 public constant DEFAULT_PARTITION = "unrestricted";
    // transferByPartition data starting with this word moves the tokens to
    // the partition in the next word (UniversalToken's convention).
    bytes32 public constant CHANGE_PARTITION_FLAG = bytes32(type(uint256).max);

    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    address public immutable owner;
    address public immutable controller;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => mapping(bytes32 => uint256)) private _byPartition;
    mapping(bytes32 => uint256) public totalSupplyByPartition;
    mapping(address => bytes32[]) private _partitions;
    mapping(address => mapping(bytes32 => bool)) private _hasPartition;
    mapping(address => mapping(bytes32 => mapping(address => bool))) private _operators;

    struct Document {
        string uri;
        bytes32 documentHash;
        uint256 timestamp;
    }

    mapping(bytes32 => Document) private _documents;
    bytes32[] private _documentNames;

    // ERC-20
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    // ERC-1410
    event TransferByPartition(
        bytes32 indexed fromPartition,
        address operator,
        address indexed from,
        address indexed to,
        uint256 value,
        bytes data,
        bytes operatorData
    );
    event ChangedPartition(bytes32 indexed fromPartition, bytes32 indexed toPartition, uint256 value);
    event AuthorizedOperatorByPartition(bytes32 indexed partition, address indexed operator, address indexed tokenHolder);
    event RevokedOperatorByPartition(bytes32 indexed partition, address indexed operator, address indexed tokenHolder);
    event IssuedByPartition(
        bytes32 indexed partition, address indexed operator, address indexed to, uint256 value, bytes data, bytes operatorData
    );
    event RedeemedByPartition(
        bytes32 indexed partition, address indexed operator, address indexed from, uint256 value, bytes operatorData
    );
    // ERC-1594
    event Issued(address indexed operator, address indexed to, uint256 value, bytes data);
    event Redeemed(address indexed operator, address indexed from, uint256 value, bytes data);
    // ERC-1643
    event DocumentUpdated(bytes32 indexed name, string uri, bytes32 documentHash);
    event DocumentRemoved(bytes32 indexed name, string uri, bytes32 documentHash);
    // ERC-1644
    event ControllerTransfer(
        address controller, address indexed from, address indexed to, uint256 value, bytes data, bytes operatorData
    );
    event ControllerRedemption(address controller, address indexed tokenHolder, uint256 value, bytes data, bytes operatorData);

    modifier onlyOwner() {
        require(msg.sender == owner, "ST: caller is not the owner");
        _;
    }

    modifier onlyController() {
        require(msg.sender == controller, "ST: caller is not the controller");
        _;
    }

    constructor(string memory name_, string memory symbol_, address controller_) {
        name = name_;
        symbol = symbol_;
        owner = msg.sender;
        controller = controller_;
    }

    // ---- ERC-20 ----

    function transfer(address to, uint256 value) external returns (bool) {
        _transferByPartition(DEFAULT_PARTITION, DEFAULT_PARTITION, msg.sender, msg.sender, to, value, "", "");
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= value, "ST: insufficient allowance");
        allowance[from][msg.sender] = allowed - value;
        _transferByPartition(DEFAULT_PARTITION, DEFAULT_PARTITION, msg.sender, from, to, value, "", "");
        return true;
    }

    // ---- ERC-1594 ----

    function isIssuable() external pure returns (bool) {
        return true;
    }

    function issue(address tokenHolder, uint256 value, bytes calldata data) external onlyOwner {
        _issueByPartition(DEFAULT_PARTITION, tokenHolder, value, data);
    }

    function redeem(uint256 value, bytes calldata data) external {
        _redeemByPartition(DEFAULT_PARTITION, msg.sender, value, data);
    }

    function transferWithData(address to, uint256 value, bytes calldata data) external {
        _transferByPartition(DEFAULT_PARTITION, DEFAULT_PARTITION, msg.sender, msg.sender, to, value, data, "");
    }

    /// ERC-1594 transfer validity for msg.sender: (ok, EIP-1066 code, reason).
    function canTransfer(address to, uint256 value, bytes calldata) external view returns (bool, bytes1, bytes32) {
        if (to == address(0)) return (false, 0x57, "");
        if (_byPartition[msg.sender][DEFAULT_PARTITION] < value) return (false, 0x52, "");
        return (true, 0x51, "");
    }

    // ---- ERC-1410 ----

    function balanceOfByPartition(bytes32 partition, address tokenHolder) external view returns (uint256) {
        return _byPartition[tokenHolder][partition];
    }

    function partitionsOf(address tokenHolder) external view returns (bytes32[] memory) {
        return _partitions[tokenHolder];
    }

    function transferByPartition(bytes32 partition, address to, uint256 value, bytes calldata data)
        external
        returns (bytes32)
    {
        bytes32 toPartition = _destination(partition, data);
        _transferByPartition(partition, toPartition, msg.sender, msg.sender, to, value, data, "");
        return toPartition;
    }

    function operatorTransferByPartition(
        bytes32 partition,
        address from,
        address to,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) external returns (bytes32) {
        require(isOperatorForPartition(partition, msg.sender, from), "ST: not an operator");
        bytes32 toPartition = _destination(partition, data);
        _transferByPartition(partition, toPartition, msg.sender, from, to, value, data, operatorData);
        return toPartition;
    }

    function canTransferByPartition(address from, address to, bytes32 partition, uint256 value, bytes calldata)
        external
        view
        returns (bytes1, bytes32, bytes32)
    {
        if (to == address(0)) return (0x57, "", partition);
        if (_byPartition[from][partition] < value) return (0x52, "", partition);
        return (0x51, "", partition);
    }

    function isOperatorForPartition(bytes32 partition, address operator, address tokenHolder)
        public
        view
        returns (bool)
    {
        return operator == tokenHolder || operator == controller || _operators[tokenHolder][partition][operator];
    }

    function authorizeOperatorByPartition(bytes32 partition, address operator) external {
        _operators[msg.sender][partition][operator] = true;
        emit AuthorizedOperatorByPartition(partition, operator, msg.sender);
    }

    function revokeOperatorByPartition(bytes32 partition, address operator) external {
        _operators[msg.sender][partition][operator] = false;
        emit RevokedOperatorByPartition(partition, operator, msg.sender);
    }

    function issueByPartition(bytes32 partition, address tokenHolder, uint256 value, bytes calldata data)
        external
        onlyOwner
    {
        _issueByPartition(partition, tokenHolder, value, data);
    }

    function redeemByPartition(bytes32 partition, uint256 value, bytes calldata data) external {
        _redeemByPartition(partition, msg.sender, value, data);
    }

    // ---- ERC-1643 ----

    function getDocument(bytes32 docName) external view returns (string memory, bytes32, uint256) {
        Document storage d = _documents[docName];
        return (d.uri, d.documentHash, d.timestamp);
    }

    function getAllDocuments() external view returns (bytes32[] memory) {
        return _documentNames;
    }

    function setDocument(bytes32 docName, string calldata uri, bytes32 documentHash) external onlyOwner {
        if (_documents[docName].timestamp == 0) _documentNames.push(docName);
        _documents[docName] = Document(uri, documentHash, block.timestamp);
        emit DocumentUpdated(docName, uri, documentHash);
    }

    function removeDocument(bytes32 docName) external onlyOwner {
        Document memory d = _documents[docName];
        require(d.timestamp != 0, "ST: no such document");
        uint256 n = _documentNames.length;
        for (uint256 i = 0; i < n; i++) {
            if (_documentNames[i] == docName) {
                _documentNames[i] = _documentNames[n - 1];
                _documentNames.pop();
                break;
            }
        }
        delete _documents[docName];
        emit DocumentRemoved(docName, d.uri, d.documentHash);
    }

    // ---- ERC-1644 ----

    function isControllable() external pure returns (bool) {
        return true;
    }

    function controllerTransfer(address from, address to, uint256 value, bytes calldata data, bytes calldata operatorData)
        external
        onlyController
    {
        _move(DEFAULT_PARTITION, DEFAULT_PARTITION, from, to, value);
        emit ControllerTransfer(msg.sender, from, to, value, data, operatorData);
    }

    function controllerRedeem(address tokenHolder, uint256 value, bytes calldata data, bytes calldata operatorData)
        external
        onlyController
    {
        _burn(DEFAULT_PARTITION, tokenHolder, value);
        emit ControllerRedemption(msg.sender, tokenHolder, value, data, operatorData);
    }

    // ---- internals ----

    function _destination(bytes32 partition, bytes calldata data) private pure returns (bytes32) {
        if (data.length >= 64 && bytes32(data[0:32]) == CHANGE_PARTITION_FLAG) return bytes32(data[32:64]);
        return partition;
    }

    function _addToPartition(address holder, bytes32 partition, uint256 value) private {
        if (!_hasPartition[holder][partition]) {
            _hasPartition[holder][partition] = true;
            _partitions[holder].push(partition);
        }
        _byPartition[holder][partition] += value;
    }

    /// Moves value between holders and partitions; emits Transfer.
    function _move(bytes32 fromPartition, bytes32 toPartition, address from, address to, uint256 value) private {
        require(to != address(0), "ST: transfer to the zero address");
        require(_byPartition[from][fromPartition] >= value, "ST: insufficient partition balance");
        _byPartition[from][fromPartition] -= value;
        balanceOf[from] -= value;
        balanceOf[to] += value;
        _addToPartition(to, toPartition, value);
        if (fromPartition != toPartition) {
            totalSupplyByPartition[fromPartition] -= value;
            totalSupplyByPartition[toPartition] += value;
        }
        emit Transfer(from, to, value);
    }

    function _transferByPartition(
        bytes32 fromPartition,
        bytes32 toPartition,
        address operator,
        address from,
        address to,
        uint256 value,
        bytes memory data,
        bytes memory operatorData
    ) private {
        _move(fromPartition, toPartition, from, to, value);
        emit TransferByPartition(fromPartition, operator, from, to, value, data, operatorData);
        if (toPartition != fromPartition) emit ChangedPartition(fromPartition, toPartition, value);
    }

    function _issueByPartition(bytes32 partition, address to, uint256 value, bytes calldata data) private {
        require(to != address(0), "ST: issue to the zero address");
        totalSupply += value;
        totalSupplyByPartition[partition] += value;
        balanceOf[to] += value;
        _addToPartition(to, partition, value);
        emit Issued(msg.sender, to, value, data);
        emit Transfer(address(0), to, value);
        emit IssuedByPartition(partition, msg.sender, to, value, data, "");
    }

    /// Burns value from holder's partition; emits Transfer.
    function _burn(bytes32 partition, address holder, uint256 value) private {
        require(_byPartition[holder][partition] >= value, "ST: insufficient partition balance");
        _byPartition[holder][partition] -= value;
        balanceOf[holder] -= value;
        totalSupply -= value;
        totalSupplyByPartition[partition] -= value;
        emit Transfer(holder, address(0), value);
    }

    function _redeemByPartition(bytes32 partition, address from, uint256 value, bytes calldata data) private {
        require(_byPartition[from][partition] >= value, "ST: insufficient partition balance");
        emit Redeemed(msg.sender, from, value, data);
        _burn(partition, from, value);
        emit RedeemedByPartition(partition, msg.sender, from, value, "");
    }
}
