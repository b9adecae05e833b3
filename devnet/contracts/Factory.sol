// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Grandchild: created by a Child's constructor, so its creation is a
/// create nested two levels deep in the transaction's trace.
contract Grandchild {
    address public immutable parent;

    constructor() {
        parent = msg.sender;
    }
}

/// @title Child: created by the Factory from inside a call; its constructor
/// creates a Grandchild and keeps any ether sent along.
contract Child {
    address public immutable owner;
    Grandchild public immutable grandchild;

    constructor(address owner_) payable {
        owner = owner_;
        grandchild = new Grandchild();
    }
}

/// @title Factory: contract creations from inside calls (CREATE and CREATE2,
/// each with a nested create), and the devnet's reverting functions: a plain
/// revert, a revert caught by try/catch (the transaction succeeds with a
/// failed internal call), and a revert after a create (the create is undone).
contract Factory {
    uint256 public created;

    event Created(address indexed child, address indexed grandchild, address indexed owner);
    event Tried(bool ok);

    /// CREATE of a Child (forwarding msg.value) whose constructor creates a
    /// Grandchild.  Emits Created(child, grandchild, msg.sender).
    function create() external payable returns (Child child) {
        child = new Child{value: msg.value}(msg.sender);
        _created(child);
    }

    /// CREATE2 of a Child with constructor argument msg.sender.
    /// Emits Created(child, grandchild, msg.sender).
    function create2(bytes32 salt) external returns (Child child) {
        child = new Child{salt: salt}(msg.sender);
        _created(child);
    }

    /// Always reverts with a reason string.
    function fail() external pure {
        revert("devnet: always reverts");
    }

    /// Calls fail() and catches its revert.  Emits Tried(false).
    function tryFail() external returns (bool ok) {
        try this.fail() {
            ok = true;
        } catch {
            ok = false;
        }
        emit Tried(ok);
    }

    /// Creates a Child, then reverts: the whole transaction fails and no
    /// contract remains.
    function createThenFail() external {
        new Child(msg.sender);
        revert("devnet: create rolled back");
    }

    function _created(Child child) private {
        created += 1;
        emit Created(address(child), address(child.grandchild()), msg.sender);
    }
}
