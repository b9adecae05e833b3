// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Identity: a stand-in for an investor's ONCHAINID contract; the
/// identity registry links wallets to these.
contract Identity {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }
}

/// @title IdentityRegistry: ERC-3643 identity registry reduced to what the
/// devnet needs: a wallet is verified once an agent registers its identity
/// (claims are not modelled).  Events are T-REX's, with its indexing.
contract IdentityRegistry {
    address public immutable agent;
    mapping(address => address) public identity;
    mapping(address => uint16) public investorCountry;

    event IdentityRegistered(address indexed investorAddress, address indexed identity);
    event CountryUpdated(address indexed investorAddress, uint16 indexed country);

    constructor() {
        agent = msg.sender;
    }

    function registerIdentity(address user, address identity_, uint16 country) external {
        require(msg.sender == agent, "IR: caller is not the agent");
        require(identity[user] == address(0), "IR: already registered");
        require(identity_ != address(0), "IR: zero identity");
        identity[user] = identity_;
        investorCountry[user] = country;
        emit IdentityRegistered(user, identity_);
    }

    function updateCountry(address user, uint16 country) external {
        require(msg.sender == agent, "IR: caller is not the agent");
        require(identity[user] != address(0), "IR: not registered");
        investorCountry[user] = country;
        emit CountryUpdated(user, country);
    }

    function contains(address user) external view returns (bool) {
        return identity[user] != address(0);
    }

    function isVerified(address user) external view returns (bool) {
        return identity[user] != address(0);
    }
}

/// @title Compliance: an ERC-3643 compliance contract with one rule: no
/// tokens to investors whose registered country is the blocked one.
contract Compliance {
    IdentityRegistry public immutable registry;
    uint16 public immutable blockedCountry;

    constructor(IdentityRegistry registry_, uint16 blockedCountry_) {
        registry = registry_;
        blockedCountry = blockedCountry_;
    }

    function canTransfer(address, address to, uint256) external view returns (bool) {
        return registry.investorCountry(to) != blockedCountry;
    }
}

/// @title TrexToken: an ERC-3643 (T-REX) style permissioned token.
/// Transfers need an unfrozen sender and recipient, enough unfrozen
/// balance, a verified recipient (identity registry) and the compliance
/// contract's consent; agents mint, burn, freeze, force transfers and
/// recover wallets.  No constructor and no immutables, so it can run
/// behind TokenProxy: init() sets it up once, as T-REX's init does.
/// Events and their indexing are T-REX's (IERC3643.sol).
contract TrexToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    string public constant version = "4.1.3";
    address public onchainID;
    address public owner;
    IdentityRegistry public identityRegistry;
    Compliance public compliance;
    uint256 public totalSupply;
    bool private _initialized;

    mapping(address => bool) public isAgent;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public isFrozen;
    mapping(address => uint256) public getFrozenTokens;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event UpdatedTokenInformation(
        string indexed newName, string indexed newSymbol, uint8 newDecimals, string newVersion, address indexed newOnchainID
    );
    event IdentityRegistryAdded(address indexed identityRegistry);
    event ComplianceAdded(address indexed compliance);
    event RecoverySuccess(address indexed lostWallet, address indexed newWallet, address indexed investorOnchainID);
    event AddressFrozen(address indexed userAddress, bool indexed isFrozen, address indexed owner);
    event TokensFrozen(address indexed userAddress, uint256 amount);
    event TokensUnfrozen(address indexed userAddress, uint256 amount);

    modifier onlyAgent() {
        require(isAgent[msg.sender], "ERC3643: caller is not an agent");
        _;
    }

    /// Once.  Emits IdentityRegistryAdded, ComplianceAdded, UpdatedTokenInformation.
    function init(
        string calldata name_,
        string calldata symbol_,
        uint8 decimals_,
        IdentityRegistry registry_,
        Compliance compliance_,
        address onchainID_,
        address agent
    ) external {
        require(!_initialized, "ERC3643: already initialized");
        _initialized = true;
        owner = msg.sender;
        isAgent[agent] = true;
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        onchainID = onchainID_;
        identityRegistry = registry_;
        compliance = compliance_;
        emit IdentityRegistryAdded(address(registry_));
        emit ComplianceAdded(address(compliance_));
        emit UpdatedTokenInformation(name_, symbol_, decimals_, version, onchainID_);
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _checkedTransfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "ERC3643: insufficient allowance");
        allowance[from][msg.sender] = allowed - amount;
        _checkedTransfer(from, to, amount);
        return true;
    }

    /// Agent only; the recipient must be verified and compliant.
    function mint(address to, uint256 amount) external onlyAgent {
        require(identityRegistry.isVerified(to), "ERC3643: recipient not verified");
        require(compliance.canTransfer(address(0), to, amount), "ERC3643: compliance refuses");
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// Agent only; unfreezes what the burn needs (TokensUnfrozen first).
    function burn(address user, uint256 amount) external onlyAgent {
        require(balanceOf[user] >= amount, "ERC3643: burn exceeds balance");
        _unfreezeFor(user, amount);
        balanceOf[user] -= amount;
        totalSupply -= amount;
        emit Transfer(user, address(0), amount);
    }

    /// Agent only; ignores freezing and compliance, needs a verified recipient.
    function forcedTransfer(address from, address to, uint256 amount) external onlyAgent returns (bool) {
        require(balanceOf[from] >= amount, "ERC3643: amount exceeds balance");
        _unfreezeFor(from, amount);
        require(identityRegistry.isVerified(to), "ERC3643: recipient not verified");
        _move(from, to, amount);
        return true;
    }

    function setAddressFrozen(address user, bool freeze) external onlyAgent {
        isFrozen[user] = freeze;
        emit AddressFrozen(user, freeze, msg.sender);
    }

    function freezePartialTokens(address user, uint256 amount) external onlyAgent {
        require(balanceOf[user] >= getFrozenTokens[user] + amount, "ERC3643: amount exceeds balance");
        getFrozenTokens[user] += amount;
        emit TokensFrozen(user, amount);
    }

    function unfreezePartialTokens(address user, uint256 amount) external onlyAgent {
        require(getFrozenTokens[user] >= amount, "ERC3643: amount exceeds frozen tokens");
        getFrozenTokens[user] -= amount;
        emit TokensUnfrozen(user, amount);
    }

    /// Agent only: moves a lost wallet's tokens, frozen tokens and frozen
    /// status to a new wallet registered with the same identity.
    function recoveryAddress(address lostWallet, address newWallet, address investorOnchainID)
        external
        onlyAgent
        returns (bool)
    {
        uint256 amount = balanceOf[lostWallet];
        require(amount != 0, "ERC3643: no tokens to recover");
        require(identityRegistry.identity(newWallet) == investorOnchainID, "ERC3643: recovery not possible");
        uint256 frozenTokens = getFrozenTokens[lostWallet];
        if (frozenTokens != 0) {
            getFrozenTokens[lostWallet] = 0;
            emit TokensUnfrozen(lostWallet, frozenTokens);
        }
        _move(lostWallet, newWallet, amount);
        if (frozenTokens != 0) {
            getFrozenTokens[newWallet] += frozenTokens;
            emit TokensFrozen(newWallet, frozenTokens);
        }
        if (isFrozen[lostWallet]) {
            isFrozen[newWallet] = true;
            emit AddressFrozen(newWallet, true, msg.sender);
        }
        emit RecoverySuccess(lostWallet, newWallet, investorOnchainID);
        return true;
    }

    function _checkedTransfer(address from, address to, uint256 amount) private {
        require(!isFrozen[to] && !isFrozen[from], "ERC3643: wallet is frozen");
        require(amount <= balanceOf[from] - getFrozenTokens[from], "ERC3643: insufficient free balance");
        require(identityRegistry.isVerified(to), "ERC3643: recipient not verified");
        require(compliance.canTransfer(from, to, amount), "ERC3643: compliance refuses");
        _move(from, to, amount);
    }

    function _unfreezeFor(address user, uint256 amount) private {
        uint256 free = balanceOf[user] - getFrozenTokens[user];
        if (amount > free) {
            uint256 unfreeze = amount - free;
            getFrozenTokens[user] -= unfreeze;
            emit TokensUnfrozen(user, unfreeze);
        }
    }

    function _move(address from, address to, uint256 amount) private {
        require(to != address(0), "ERC3643: transfer to the zero address");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

/// @title TokenProxy: a minimal EIP-1967 proxy.  The constructor stores the
/// implementation in the EIP-1967 slot, emits Upgraded and runs initData
/// through delegatecall; every other call is delegated.  A bytecode scan of
/// this address finds none of the token's selectors.
contract TokenProxy {
    // bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    event Upgraded(address indexed implementation);

    constructor(address implementation, bytes memory initData) {
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
        (bool ok, bytes memory ret) = implementation.delegatecall(initData);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    fallback() external payable {
        assembly {
            let impl := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
