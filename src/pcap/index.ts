/** Capture files (pcap and pcapng), read and written. */
export * from './pcap.js';
