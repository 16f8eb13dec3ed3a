//! openraft's RPCs over the node's libp2p consensus channel.
