# _xen for MicroPython's cmake-based ports (zephyr). Only INTERFACE sources and
# include directories are honoured there; global switches live in the port's
# configuration (port/zephyr).
add_library(usermod_xen INTERFACE)
target_sources(usermod_xen INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modxen.c
    ${CMAKE_CURRENT_LIST_DIR}/abi.c
    ${CMAKE_CURRENT_LIST_DIR}/domctl.c
    ${CMAKE_CURRENT_LIST_DIR}/sysctl.c
    ${CMAKE_CURRENT_LIST_DIR}/memory.c
    ${CMAKE_CURRENT_LIST_DIR}/evtchn.c
    ${CMAKE_CURRENT_LIST_DIR}/flask.c
    ${CMAKE_CURRENT_LIST_DIR}/backends/zephyr.c
    ${CMAKE_CURRENT_LIST_DIR}/backends/xen_dtb.c
    # the board's REPL: console input and a soft reset that keeps dom0 services
    ${CMAKE_CURRENT_LIST_DIR}/backends/zephyr_console.c
    ${CMAKE_CURRENT_LIST_DIR}/repl.c
)
# Boot-policy signatures (issue 7): verify.c is compiled in; the port's
# configuration must define MODXEN_VERIFY=1 (and MODXEN_POLICY_ANCHORS_H) and
# enable Zephyr's mbedTLS (CONFIG_MBEDTLS, ECDSA + ECP_DP_SECP256R1 + SHA256).
target_sources(usermod_xen INTERFACE ${CMAKE_CURRENT_LIST_DIR}/verify.c)
# Guest byte rings (issue 6): console and xenstore copy loops.
target_sources(usermod_xen INTERFACE ${CMAKE_CURRENT_LIST_DIR}/ring.c)
# xenstore wire framing helpers (issue 3).
target_sources(usermod_xen INTERFACE ${CMAKE_CURRENT_LIST_DIR}/xsframe.c)
target_include_directories(usermod_xen INTERFACE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(usermod INTERFACE usermod_xen)
