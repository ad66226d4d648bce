//! `kefu-acd`: the automatic contact distributor, kefu's one routing brain.
//!
//! It will own queues, skills, agent states and capacities, and the decision of
//! which agent is offered which contact, for every channel (voice, chat, WeChat,
//! SMS, email). It is pure and sans-IO: it takes events and the current time and
//! returns actions and its next timeout; it performs no I/O and reads no clock.
