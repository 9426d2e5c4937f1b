// Assembles one JSON record from the SAX-like calls of ctk_host_v1.
//
//   RecordBuilder b;
//   b.begin_record(); b.key("ID"); b.value("abc"); b.key("Ports"); b.begin_array();
//   b.value(80); b.end_array();
//   std::optional<Json> rec = b.end_record();   // {"ID":"abc","Ports":[80]}
//
// Plugins are foreign code: a call out of place (a value without a key, an
// unbalanced end_object) never crashes the host; the record is dropped and
// error() says what went wrong first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctk::tools {

class RecordBuilder {
public:
  using Json = nlohmann::ordered_json;

  void begin_record();
  // The finished record, or nullopt when the calls were malformed (see error()).
  std::optional<Json> end_record();
  void key(std::string k);
  void value(Json v);
  void begin_object() { open(Json::object()); }
  void end_object() { close(true); }
  void begin_array() { open(Json::array()); }
  void end_array() { close(false); }

  bool in_record() const { return in_record_; }
  const std::string &error() const { return error_; }

private:
  void open(Json container);
  void close(bool object);
  Json *place(Json v); // inserts at the current position; nullptr on misuse
  void misuse(const std::string &what);

  bool in_record_ = false;
  Json root_;
  std::vector<Json *> stack_;
  std::optional<std::string> key_;
  std::string error_;
  size_t last_fields_ = 0; // fields of the last record, reserved for the next
};

} // namespace ctk::tools
