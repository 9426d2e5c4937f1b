#include "record_builder.h"

namespace ctk::tools {

void RecordBuilder::begin_record() {
  if (in_record_)
    misuse("begin_record inside a record");
  in_record_ = true;
  root_ = Json::object();
  // A command's records have one shape: room for as many fields as the last
  // one had saves the object's vector from regrowing field by field.
  root_.get_ref<Json::object_t &>().reserve(last_fields_);
  stack_.assign(1, &root_);
  key_.reset();
  error_.clear();
}

std::optional<RecordBuilder::Json> RecordBuilder::end_record() {
  if (!in_record_) {
    misuse("end_record without begin_record");
    return std::nullopt;
  }
  in_record_ = false;
  if (error_.empty() && stack_.size() != 1)
    misuse("end_record with an object or array still open");
  if (error_.empty() && key_)
    misuse("end_record after key \"" + *key_ + "\" without its value");
  stack_.clear();
  if (!error_.empty())
    return std::nullopt;
  last_fields_ = root_.size();
  return std::move(root_);
}

void RecordBuilder::misuse(const std::string &what) {
  if (error_.empty())
    error_ = what;
}

void RecordBuilder::key(std::string k) {
  if (!in_record_ || stack_.empty())
    return misuse("key \"" + k + "\" outside a record");
  if (!stack_.back()->is_object())
    return misuse("key \"" + k + "\" inside an array");
  if (key_)
    return misuse("key \"" + k + "\" after key \"" + *key_ + "\" without a value");
  key_ = std::move(k);
}

RecordBuilder::Json *RecordBuilder::place(Json v) {
  if (!in_record_ || stack_.empty()) {
    misuse("value outside a record");
    return nullptr;
  }
  Json &top = *stack_.back();
  if (top.is_array()) {
    top.push_back(std::move(v));
    return &top.back();
  }
  if (!key_) {
    misuse("value without a key");
    return nullptr;
  }
  // Appended in place (the object's vector was reserved in begin_record); a
  // repeated key keeps its first position and takes the new value, as
  // operator[] would.
  auto &obj = top.get_ref<Json::object_t &>();
  auto it = obj.find(*key_);
  if (it != obj.end()) {
    it->second = std::move(v);
  } else {
    obj.emplace_back(*key_, std::move(v));
    it = std::prev(obj.end());
  }
  key_.reset();
  return &it->second;
}

void RecordBuilder::value(Json v) {
  place(std::move(v));
}

void RecordBuilder::open(Json container) {
  if (Json *slot = place(std::move(container)))
    stack_.push_back(slot);
}

void RecordBuilder::close(bool object) {
  const char *what = object ? "end_object" : "end_array";
  if (stack_.size() < 2)
    return misuse(std::string(what) + " without a matching begin");
  if (stack_.back()->is_object() != object)
    return misuse(std::string(what) + " closes the wrong kind of container");
  if (key_)
    return misuse(std::string(what) + " after key \"" + *key_ + "\" without its value");
  stack_.pop_back();
}

} // namespace ctk::tools
