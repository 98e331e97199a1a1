/* rtnetlink through libmnl: links, addresses, routes. Addresses are IPv4,
 * host order. Each call returns 0 or -errno. */
#ifndef HAGW_NL_H
#define HAGW_NL_H

#include <stdint.h>

int nl_link_index(const char *ifname);
int nl_link_up(int ifindex, uint32_t mtu, uint32_t txqlen);
int nl_addr_add(int ifindex, uint32_t addr, uint8_t plen);
int nl_addr_del(int ifindex, uint32_t addr, uint8_t plen);
int nl_route_add(int ifindex, uint32_t dst, uint8_t plen);
int nl_route_del(int ifindex, uint32_t dst, uint8_t plen);

#endif
