/**
 * Filter expressions for the tcpdump equivalence test: qualifiers, combinations, byte-offset expressions,
 * arithmetic, VLAN offsets, IPv6, names and odd spacing. Each must compile in both tcpdump and bpfkit.
 */
const hosts = ['10.0.0.1', '10.0.0.2', '192.168.1.1', '8.8.8.8', '1.2.3.4', '127.0.0.1', '192.168.1.255'];
const ports = [80, 443, 22, 53, 8080, 123, 67, 5353, 0, 65535];

export const FILTER_CORPUS: string[] = [
  // protocols
  'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'igmp', 'pim', 'ah', 'esp', 'vrrp', 'stp',
  'not ip', 'not tcp', '!udp', 'ip or ip6', 'ip and not tcp', 'tcp or udp', 'tcp or udp or icmp', 'arp or rarp',
  'ip proto 17', 'ip proto 6', 'ip6 proto 17', 'ip6 proto 58', 'ip proto 255', 'proto 47', 'proto \\tcp', 'ip proto \\udp',
  'ether proto 0x806', 'ether proto 0x86dd', 'ether proto \\ip', 'ether proto \\arp', 'ether proto 0x88cc', 'ether proto 0x9000',
  'ip6 proto \\tcp', 'ether proto 0x42', 'iso', 'netbeui', 'ipx',
  // hosts and nets
  ...hosts.map((h) => `host ${h}`),
  ...hosts.slice(0, 4).map((h) => `src host ${h}`),
  ...hosts.slice(0, 4).map((h) => `dst host ${h}`),
  'ip host 10.0.0.1', 'arp host 10.0.0.1', 'rarp host 192.168.1.1', 'ip src 10.0.0.1', 'ip dst 192.168.1.100',
  'src or dst host 10.0.0.2', 'src and dst host 10.0.0.1', 'host 10.0.0.1 or 10.0.0.2', 'host 10.0.0.1 and 8.8.8.8',
  'host 10.0.0.1 and not 10.0.0.2', 'host (10.0.0.1 or 8.8.8.8)', 'net 10.0.0.0/8', 'net 192.168.1.0/24', 'net 10', 'net 192.168',
  'src net 10.0.0.0/24', 'dst net 192.168.0.0 mask 255.255.0.0', 'net 0.0.0.0/0', 'not net 10.0.0.0/8', 'net 172.16.0.0/12',
  'ip6 host 2001:db8::1', 'host 2001:db8::2', 'src host fe80::1', 'dst host ff02::1', 'net 2001:db8::/32', 'ip6 net fe80::/10',
  'ip6 dst net ff00::/8', 'host ::1', 'host localhost', 'ether host 00:11:22:33:44:55', 'ether src 02:00:00:00:00:01',
  'ether dst ff:ff:ff:ff:ff:ff', 'ether host aa-bb-cc-dd-ee-ff', 'ether dst 01:00:5e:00:00:fb', 'ether broadcast', 'ether multicast',
  'broadcast', 'multicast', 'ip multicast', 'ip6 multicast', 'not ether broadcast', 'ether src 0011.2233.4455',
  // ports
  ...ports.map((p) => `port ${p}`),
  ...ports.slice(0, 5).map((p) => `tcp port ${p}`),
  ...ports.slice(0, 5).map((p) => `udp port ${p}`),
  'src port 80', 'dst port 443', 'tcp src port 22', 'udp dst port 53', 'sctp port 80', 'port 80 or port 443', 'port 80 or 443',
  'port 80 and 443', 'tcp and (port 80 or port 443)', 'not port 22', 'tcp and not port 22', 'port http', 'port domain',
  'tcp port ssh', 'src or dst port 53', 'src and dst port 80', 'portrange 1-1023', 'portrange 1000-2000', 'tcp portrange 80-443',
  'udp portrange 50-60', 'src portrange 1024-65535', 'dst portrange 0-100', 'portrange 80', 'sctp portrange 1-100',
  'udp port 53 or tcp port 53', 'host 10.0.0.1 and port 80', 'src host 10.0.0.1 and dst port 22', 'host 10.0.0.1 and not port 22',
  // lengths and bytes
  'less 64', 'less 100', 'greater 200', 'greater 1000', 'len > 100', 'len < 60', 'len = 60', 'len >= 1500', 'len <= 64',
  'len != 0', 'len > 100 and len < 500', 'length > 300', 'byte 23 = 6', 'byte 12 & 8', 'byte 14 > 0x44', 'byte 14 < 0x46', 'byte 0 | 1',
  // byte-offset expressions
  'ip[0] = 0x45', 'ip[0] & 0xf != 5', 'ip[0] & 0xf > 5', 'ip[2:2] > 576', 'ip[6:2] & 0x1fff = 0', 'ip[6:2] & 0x1fff != 0',
  'ip[6] & 0x20 != 0', 'ip[8] < 64', 'ip[9] = 6', 'ip[12:4] = 0x0a000001', 'ip[16] >= 224', 'ip[1] & 0xfc = 0xb8',
  'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0', 'tcp[tcpflags] & tcp-syn != 0', 'tcp[tcpflags] = tcp-syn', 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0',
  'tcp[tcpflags] & tcp-rst != 0', 'tcp[13] = 18', 'tcp[13] & 0x3f = 0x12', 'tcp[tcpflags] & tcp-push != 0 and tcp[tcpflags] & tcp-ack != 0',
  'tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0', 'tcp[tcpflags] & tcp-urg != 0', 'tcp[0:2] > 1023 and tcp[2:2] < 1024', 'tcp[2:2] = 80',
  'tcp[12] & 0xf0 > 0x50', '(tcp[12] & 0xf0) >> 2 > 20', 'tcp[((tcp[12] & 0xf0) >> 2)] = 0x47', 'tcp[4:4] > 0x80000000',
  'udp[0:2] = 53', 'udp[2:2] = 53', 'udp[4:2] > 100', 'udp[8:2] = 0x1234', 'icmp[icmptype] = icmp-echo', 'icmp[icmptype] = icmp-echoreply',
  'icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply', 'icmp[0] = 3 and icmp[1] = 1', 'icmp[icmptype] = icmp-unreach',
  'icmp6[0] = 128', 'icmp6[icmp6type] = icmp6-echo', 'icmp6[0] = 135 or icmp6[0] = 136', 'icmp6[icmp6type] = icmp6-neighborsolicit',
  'ip6[6] = 58', 'ip6[6] = 44', 'ip6[0] & 0xf0 = 0x60', 'ip6[7] > 100', 'ip6[4:2] > 100', 'ether[0] & 1 = 1', 'ether[0] & 1 = 0',
  'ether[12:2] = 0x0800', 'ether[12:2] > 1500', 'ether[6:4] = 0x02000000', 'arp[6:2] = 1', 'arp[6:2] = 2', 'arp[7] = 2',
  'link[0] = 0xff', 'ip[2:2] - ip[0] & 0xf * 4 > 20', 'sctp[0:2] = 80', 'igmp[0] = 0x11',
  // arithmetic
  'ip[2:2] + 14 > 100', 'ip[2:2] - 20 > 100', 'ip[2:2] * 2 > 1000', 'ip[2:2] / 4 > 25', 'ip[2:2] % 7 = 3', 'ip[8] ^ 0xff = 0xbf',
  'ip[8] | 1 = 65', 'ip[8] & 0xf0 = 0x40', 'ip[8] << 1 = 128', 'ip[8] >> 1 = 32', '-ip[8] = 0xffffffc0', 'len - 14 > 100', 'len * 2 > 200',
  '1 + 2 = 3', '2 * 3 = 6', 'len % 2 = 0', 'ip[2:2] + ip[8] > 200', 'ip[8] + 1 * 2 = 66', '(ip[8] + 1) * 2 = 130',
  'tcp[0:2] + tcp[2:2] > 10000', 'len - 14 = ip[2:2]', 'ip[2:2] != len - 14', '4 * (ip[0] & 0xf) = 20', 'ip[0] & 0xf << 2 = 20',
  'ip[2:2] % 10 + 1 = 5', 'ip[9] = 6 || ip[9] = 17', 'len > 0 && ip', 'ip[0] >> 4 = 4', 'ip6[0] >> 4 = 6', 'ether[14] >> 4 = 4',
  // vlan
  'vlan', 'vlan 1', 'vlan 10', 'vlan 100', 'vlan 4094', 'vlan and ip', 'vlan and ip6', 'vlan and tcp', 'vlan and arp', 'vlan 10 and ip',
  'vlan and vlan', 'vlan and vlan and ip', 'vlan and host 10.0.0.1', 'vlan and port 80', 'vlan 1 or vlan 100', 'ip or vlan',
  'vlan and not ip', 'not vlan', 'vlan and udp port 53', 'vlan and ip[9] = 6', 'vlan and ether[12:2] = 0x8100', 'vlan and tcp[13] & 2 != 0',
  // combinations and precedence
  'tcp and port 80 or udp', 'udp or tcp and port 80', 'not tcp and not udp', 'not (tcp or udp)', 'not tcp or udp',
  'ip and (tcp or udp) and not port 53', '(ip6 and tcp) or (ip and udp)', 'tcp && port 443 || icmp', '!(ip or ip6)', 'not not tcp',
  'host 10.0.0.1 and (port 80 or port 22)', '(host 10.0.0.1 or host 10.0.0.2) and tcp', 'ip and ip[9] = 6 and not ip[6:2] & 0x1fff != 0',
  'tcp port 80 and (tcp[tcpflags] & tcp-syn != 0)', 'arp and ether broadcast', 'icmp or icmp6', 'ip6 and not icmp6', 'ip and greater 500',
  'tcp or (udp and less 100)', 'ether multicast and not ether broadcast', 'dst host 10.0.0.1 or src port 80 and udp',
  '  tcp   and   port   80  ', 'ip6 and udp port 53', 'ip6 and tcp port 443', 'ip6 and src port 80', 'ip6 and portrange 1-1000',
  'port 53 and not host 8.8.8.8', 'ip and tcp and src net 10.0.0.0/8 and dst port 80', 'less 60 or greater 1000', 'ether proto 0x8100',
  'ip[9] = 1 and icmp[0] = 8', 'ip6 proto 44', 'ip[6:2] & 0x3fff != 0', 'ip[6] & 0x40 != 0 and tcp', 'ip[0] & 0xf > 5 and tcp',
];
