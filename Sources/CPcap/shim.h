// The C surface of libpcap that the Capture module uses.
// stdio.h is here because PcapWriter opens the FILE* itself (to give it a large buffer)
// and hands it to pcap_dump_fopen.
#ifndef OVERLAY_SIM_CPCAP_SHIM_H
#define OVERLAY_SIM_CPCAP_SHIM_H

#include <pcap/pcap.h>
#include <stdio.h>

#endif
