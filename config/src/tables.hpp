// The known top-level tables of parley.toml (internal). To add one: give Config
// a member, write read<Name>Table in <name>_table.cpp with its known keys, and add a row to
// kTables in config.cpp.
#pragma once

#include "table_reader.hpp"

namespace parley::config::detail {

void readNodeTable(const toml::table* table, ErrorList& errors, NodeConfig& out);
void readSipTable(const toml::table* table, ErrorList& errors, SipConfig& out);
void readRegistrarTable(const toml::table* table, ErrorList& errors, RegistrarConfig& out);
void readPresenceTable(const toml::table* table, ErrorList& errors, PresenceConfig& out);
// Needs the [sip] result: some [xmpp] values are checked against, or default to, sip.domains.
void readXmppTable(const toml::table* table, ErrorList& errors, const SipConfig& sip,
                   XmppConfig& out);
void readStorageTable(const toml::table* table, ErrorList& errors, StorageConfig& out);
void readHttpTable(const toml::table* table, ErrorList& errors, HttpConfig& out);

}  // namespace parley::config::detail
