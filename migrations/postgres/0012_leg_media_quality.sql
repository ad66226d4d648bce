-- More of each leg's media quality at its end, from RTP and RTCP: packets
-- received and sent, the round-trip time from the peer's receiver reports,
-- what the peer reported losing of our stream, and packets dropped because
-- they came from another address than the latched one (RTP bleed).
ALTER TABLE call_legs ADD COLUMN rtp_packets_received INTEGER;
ALTER TABLE call_legs ADD COLUMN rtp_packets_sent INTEGER;
ALTER TABLE call_legs ADD COLUMN rtp_rtt_ms INTEGER;
ALTER TABLE call_legs ADD COLUMN rtp_remote_packets_lost INTEGER;
ALTER TABLE call_legs ADD COLUMN rtp_foreign_dropped INTEGER;
