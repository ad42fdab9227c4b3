// Parameter Store, Secrets Manager and source-credential operations through Service::handle, on
// an in-memory SecretStore: wire shapes, each service's error codes, and that secrets stay out
// of answers that should not carry them.
#include <gtest/gtest.h>

#include "api/service_fixture.h"

namespace kiln::api {
namespace {

using nlohmann::json;

class SecretsOpsTest : public ServiceTest {
 protected:
  json ssm(const std::string& op, const json& in) { return ok("AmazonSSM." + op, in); }
  json sm(const std::string& op, const json& in) { return ok("secretsmanager." + op, in); }
  Answer ssm_err(const std::string& op, const json& in) { return call("AmazonSSM." + op, in); }
  Answer sm_err(const std::string& op, const json& in) { return call("secretsmanager." + op, in); }
};

TEST_F(SecretsOpsTest, PutAndGetAStringParameter) {
  EXPECT_EQ(ssm("PutParameter", {{"Name", "/app/url"}, {"Value", "http://x"}, {"Type", "String"}}),
            json({{"Version", 1}, {"Tier", "Standard"}}));
  const json p = ssm("GetParameter", {{"Name", "/app/url"}})["Parameter"];
  EXPECT_EQ(p, json({{"Name", "/app/url"},
                     {"Type", "String"},
                     {"Value", "http://x"},
                     {"Version", 1},
                     {"LastModifiedDate", 1700000000.0},
                     {"ARN", "arn:aws:ssm:us-east-1:123456789012:parameter/app/url"},
                     {"DataType", "text"}}));
  // By ARN too, as SSM allows.
  EXPECT_EQ(ssm("GetParameter", {{"Name", p["ARN"]}})["Parameter"]["Name"], "/app/url");
}

TEST_F(SecretsOpsTest, OverwriteIsExplicitAndKeepsTheType) {
  ssm("PutParameter", {{"Name", "list"}, {"Value", "a,b"}, {"Type", "StringList"}});
  Answer again = ssm_err("PutParameter", {{"Name", "list"}, {"Value", "c"}, {"Type", "String"}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.type(), "ParameterAlreadyExists");
  clock_.advance(std::chrono::seconds(5));
  EXPECT_EQ(
      ssm("PutParameter", {{"Name", "list"}, {"Value", "c,d"}, {"Overwrite", true}})["Version"], 2);
  const json p = ssm("GetParameter", {{"Name", "list"}})["Parameter"];
  EXPECT_EQ(p["Type"], "StringList");
  EXPECT_EQ(p["Value"], "c,d");
  EXPECT_EQ(p["LastModifiedDate"], 1700000005.0);
  EXPECT_EQ(ssm_err("PutParameter", {{"Name", "new"}, {"Value", "x"}}).message(),
            "A parameter type is required when you create a parameter.");
}

TEST_F(SecretsOpsTest, SecureStringNeedsWithDecryption) {
  ssm("PutParameter", {{"Name", "/db/pw"}, {"Value", "hunter2"}, {"Type", "SecureString"}});
  const json sealed = ssm("GetParameter", {{"Name", "/db/pw"}})["Parameter"];
  // base64("kiln-encrypted:/db/pw:1")
  EXPECT_EQ(sealed["Value"], "a2lsbi1lbmNyeXB0ZWQ6L2RiL3B3OjE=");
  EXPECT_EQ(
      ssm("GetParameter", {{"Name", "/db/pw"}, {"WithDecryption", true}})["Parameter"]["Value"],
      "hunter2");
  const json meta = ssm("DescribeParameters", json::object())["Parameters"];
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0]["KeyId"], "alias/aws/ssm");
  EXPECT_FALSE(meta[0].contains("Value"));
  EXPECT_EQ(ssm_err("PutParameter",
                    {{"Name", "k"}, {"Value", "v"}, {"Type", "String"}, {"KeyId", "alias/x"}})
                .message(),
            "KeyId is required for SecureString type parameter only.");
}

TEST_F(SecretsOpsTest, ParameterInputIsValidated) {
  const std::string rules = "Parameter name: can't be prefixed with \"aws\" or \"ssm\"";
  for (const char* bad : {"aws.x", "/SSM/x", "a b", "/a//b", "/a/"}) {
    Answer a = ssm_err("PutParameter", {{"Name", bad}, {"Value", "v"}, {"Type", "String"}});
    EXPECT_EQ(a.type(), "ValidationException") << bad;
    EXPECT_TRUE(a.message().starts_with(rules)) << bad << ": " << a.message();
  }
  EXPECT_EQ(
      ssm_err("PutParameter", {{"Name", "a/b"}, {"Value", "v"}, {"Type", "String"}}).message(),
      "Parameter name must be a fully qualified name.");
  Answer type = ssm_err("PutParameter", {{"Name", "a"}, {"Value", "v"}, {"Type", "Bogus"}});
  EXPECT_EQ(type.type(), "ValidationException");
  EXPECT_NE(type.message().find("[String, StringList, SecureString]"), std::string::npos);
  Answer missing = ssm_err("GetParameter", json::object());
  EXPECT_EQ(missing.type(), "ValidationException");
  EXPECT_EQ(missing.message(), "Missing required parameter: Name");
  Answer long_name = ssm_err("GetParameter", {{"Name", std::string(2049, 'a')}});
  EXPECT_NE(long_name.message().find("less than or equal to 2048"), std::string::npos);
  // A value too long is refused without being echoed.
  const std::string value = "TOPSECRET" + std::string(5000, 'x');
  Answer big = ssm_err("PutParameter", {{"Name", "a"}, {"Value", value}, {"Type", "SecureString"}});
  EXPECT_EQ(big.type(), "ValidationException");
  EXPECT_EQ(big.text.find("TOPSECRET"), std::string::npos) << big.text;
}

TEST_F(SecretsOpsTest, GetParametersSplitsFoundAndMissing) {
  ssm("PutParameter", {{"Name", "a"}, {"Value", "1"}, {"Type", "String"}});
  const json got = ssm("GetParameters", {{"Names", {"a", "nope", "a"}}});
  ASSERT_EQ(got["Parameters"].size(), 1u);
  EXPECT_EQ(got["Parameters"][0]["Value"], "1");
  EXPECT_EQ(got["InvalidParameters"], json({"nope"}));
  EXPECT_EQ(ssm_err("GetParameters", {{"Names", json::array()}}).type(), "ValidationException");
}

TEST_F(SecretsOpsTest, ParametersByPathPagesAndFilters) {
  for (const char* n : {"/p/a", "/p/b", "/p/c", "/p/d/deep", "/q/x"}) {
    ssm("PutParameter", {{"Name", n}, {"Value", "v"}, {"Type", "String"}});
  }
  ssm("PutParameter", {{"Name", "/p/s"}, {"Value", "v"}, {"Type", "SecureString"}});
  std::vector<std::string> names;
  json in = {{"Path", "/p"}, {"MaxResults", 2}};
  for (int page = 0; page < 10; ++page) {
    const json out = ssm("GetParametersByPath", in);
    for (const auto& p : out["Parameters"]) names.push_back(p["Name"]);
    if (!out.contains("NextToken")) break;
    in["NextToken"] = out["NextToken"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"/p/a", "/p/b", "/p/c", "/p/s"}));
  EXPECT_EQ(ssm("GetParametersByPath", {{"Path", "/p"}, {"Recursive", true}})["Parameters"].size(),
            5u);
  const json secure = ssm(
      "GetParametersByPath",
      {{"Path", "/p/"}, {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"SecureString"}}}}}});
  ASSERT_EQ(secure["Parameters"].size(), 1u);
  EXPECT_EQ(secure["Parameters"][0]["Name"], "/p/s");
  EXPECT_EQ(ssm_err("GetParametersByPath", {{"Path", "/p"}, {"NextToken", "junk"}}).type(),
            "InvalidNextToken");
  EXPECT_EQ(ssm_err("GetParametersByPath", {{"Path", "p"}}).type(), "ValidationException");
  EXPECT_EQ(ssm_err("GetParametersByPath",
                    {{"Path", "/p"}, {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"x"}}}}}})
                .type(),
            "InvalidFilterKey");
}

TEST_F(SecretsOpsTest, DescribeParametersFilters) {
  for (const char* n : {"/app/a", "/app/b", "/other"}) {
    ssm("PutParameter", {{"Name", n}, {"Value", "v"}, {"Type", "String"}, {"Description", "d"}});
  }
  const auto names = [](const json& out) {
    std::vector<std::string> v;
    for (const auto& p : out["Parameters"]) v.push_back(p["Name"]);
    return v;
  };
  const json begins = {{"Key", "Name"}, {"Option", "BeginsWith"}, {"Values", {"/app"}}};
  EXPECT_EQ(names(ssm("DescribeParameters", {{"ParameterFilters", {begins}}})),
            (std::vector<std::string>{"/app/a", "/app/b"}));
  const json equals = {{"Key", "Name"}, {"Values", {"/other"}}};
  const json one = ssm("DescribeParameters", {{"ParameterFilters", {equals}}});
  EXPECT_EQ(names(one), (std::vector<std::string>{"/other"}));
  EXPECT_EQ(one["Parameters"][0]["Description"], "d");
  const json old = {{"Key", "Name"}, {"Values", {"/app/b"}}};
  EXPECT_EQ(names(ssm("DescribeParameters", {{"Filters", {old}}})),
            (std::vector<std::string>{"/app/b"}));
  const json paged = ssm("DescribeParameters", {{"MaxResults", 2}});
  EXPECT_EQ(names(ssm("DescribeParameters", {{"NextToken", paged["NextToken"]}})),
            (std::vector<std::string>{"/other"}));
  EXPECT_EQ(
      ssm_err("DescribeParameters", {{"Filters", {old}}, {"ParameterFilters", {begins}}}).type(),
      "ValidationException");
  const json bad_option = {{"Key", "Type"}, {"Option", "BeginsWith"}, {"Values", {"String"}}};
  EXPECT_EQ(ssm_err("DescribeParameters", {{"ParameterFilters", {bad_option}}}).type(),
            "InvalidFilterOption");
}

TEST_F(SecretsOpsTest, DeleteParameter) {
  ssm("PutParameter", {{"Name", "gone"}, {"Value", "v"}, {"Type", "String"}});
  EXPECT_EQ(ssm("DeleteParameter", {{"Name", "gone"}}), json::object());
  Answer a = ssm_err("GetParameter", {{"Name", "gone"}});
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.type(), "ParameterNotFound");
  EXPECT_EQ(ssm_err("DeleteParameter", {{"Name", "gone"}}).type(), "ParameterNotFound");
}

TEST_F(SecretsOpsTest, CreateAndGetASecret) {
  const std::string token = "11111111-2222-3333-4444-555555555555";
  const json created = sm("CreateSecret", {{"Name", "prod/db"},
                                           {"SecretString", R"({"pw":"hunter2"})"},
                                           {"Description", "the db"},
                                           {"ClientRequestToken", token}});
  ASSERT_EQ(created.size(), 3u) << created;
  const std::string arn = created["ARN"];
  EXPECT_TRUE(arn.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-"));
  EXPECT_EQ(
      arn.size(),
      std::string("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-").size() + 6);
  EXPECT_EQ(created["Name"], "prod/db");
  EXPECT_EQ(created["VersionId"], token);
  for (const std::string& id : {std::string("prod/db"), arn}) {
    const json v = sm("GetSecretValue", {{"SecretId", id}});
    EXPECT_EQ(v, json({{"ARN", arn},
                       {"Name", "prod/db"},
                       {"VersionId", token},
                       {"SecretString", R"({"pw":"hunter2"})"},
                       {"VersionStages", {"AWSCURRENT"}},
                       {"CreatedDate", 1700000000.0}}));
  }
  EXPECT_EQ(sm_err("CreateSecret", {{"Name", "prod/db"}, {"SecretString", "x"}}).type(),
            "ResourceExistsException");
  EXPECT_EQ(sm_err("GetSecretValue", {{"SecretId", "nope"}}).type(), "ResourceNotFoundException");
  Answer both =
      sm_err("CreateSecret", {{"Name", "b"}, {"SecretString", "x"}, {"SecretBinary", "eA=="}});
  EXPECT_EQ(both.type(), "InvalidParameterException");
  EXPECT_EQ(sm_err("CreateSecret", {{"Name", "a b"}}).type(), "InvalidParameterException");
  Answer missing = sm_err("GetSecretValue", json::object());
  EXPECT_EQ(missing.type(), "InvalidParameterException");
  EXPECT_EQ(missing.message(), "Missing required parameter: SecretId");
}

TEST_F(SecretsOpsTest, VersionsAndBinarySecrets) {
  sm("CreateSecret", {{"Name", "s"}, {"SecretString", "one"}});
  clock_.advance(std::chrono::seconds(1));
  const json put = sm("PutSecretValue", {{"SecretId", "s"}, {"SecretBinary", "AAEC/w=="}});
  EXPECT_EQ(put["VersionStages"], json({"AWSCURRENT"}));
  EXPECT_EQ(put["Name"], "s");
  const json current = sm("GetSecretValue", {{"SecretId", "s"}});
  EXPECT_EQ(current["SecretBinary"], "AAEC/w==");
  EXPECT_FALSE(current.contains("SecretString"));
  EXPECT_EQ(current["VersionId"], put["VersionId"]);
  const json previous = sm("GetSecretValue", {{"SecretId", "s"}, {"VersionStage", "AWSPREVIOUS"}});
  EXPECT_EQ(previous["SecretString"], "one");
  EXPECT_EQ(sm("GetSecretValue",
               {{"SecretId", "s"}, {"VersionId", previous["VersionId"]}})["SecretString"],
            "one");
  EXPECT_EQ(sm_err("PutSecretValue", {{"SecretId", "s"}}).type(), "InvalidParameterException");
  EXPECT_EQ(sm_err("PutSecretValue", {{"SecretId", "s"}, {"SecretBinary", "%%%"}}).type(),
            "InvalidParameterException");

  const json updated = sm("UpdateSecret", {{"SecretId", "s"}, {"Description", "new"}});
  EXPECT_FALSE(updated.contains("VersionId"));
  const json described = sm("DescribeSecret", {{"SecretId", "s"}});
  EXPECT_EQ(described["Description"], "new");
  EXPECT_EQ(described["VersionIdsToStages"].size(), 2u);
  EXPECT_EQ(described["VersionIdsToStages"][current["VersionId"].get<std::string>()],
            json({"AWSCURRENT"}));
  const json revalued = sm("UpdateSecret", {{"SecretId", "s"}, {"SecretString", "three"}});
  EXPECT_EQ(sm("GetSecretValue", {{"SecretId", "s"}})["VersionId"], revalued["VersionId"]);
}

TEST_F(SecretsOpsTest, DeleteSecretAndListSecrets) {
  for (const char* n : {"a", "b", "c"}) {
    sm("CreateSecret", {{"Name", n}, {"SecretString", "v"}});
    clock_.advance(std::chrono::seconds(1));
  }
  const json deleted = sm("DeleteSecret", {{"SecretId", "b"}});
  EXPECT_EQ(deleted["Name"], "b");
  EXPECT_EQ(deleted["DeletionDate"], 1700000003.0 + 30 * 86400);
  EXPECT_EQ(sm_err("GetSecretValue", {{"SecretId", "b"}}).type(), "InvalidRequestException");
  const auto names = [](const json& out) {
    std::vector<std::string> v;
    for (const auto& s : out["SecretList"]) v.push_back(s["Name"]);
    return v;
  };
  EXPECT_EQ(names(sm("ListSecrets", json::object())), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(names(sm("ListSecrets", {{"IncludePlannedDeletion", true}, {"SortOrder", "asc"}})),
            (std::vector<std::string>{"a", "b", "c"}));
  const json page =
      sm("ListSecrets", {{"MaxResults", 1}, {"SortBy", "name"}, {"SortOrder", "asc"}});
  EXPECT_EQ(names(page), (std::vector<std::string>{"a"}));
  EXPECT_EQ(names(sm("ListSecrets",
                     {{"SortBy", "name"}, {"SortOrder", "asc"}, {"NextToken", page["NextToken"]}})),
            (std::vector<std::string>{"c"}));
  EXPECT_EQ(sm_err("ListSecrets", {{"NextToken", page["NextToken"]}}).type(),
            "InvalidNextTokenException");  // made for another sort
  const json filter = {{"Key", "name"}, {"Values", {"!a"}}};
  EXPECT_EQ(names(sm("ListSecrets", {{"Filters", {filter}}})), (std::vector<std::string>{"c"}));

  EXPECT_EQ(sm_err("DeleteSecret", {{"SecretId", "a"}, {"RecoveryWindowInDays", 3}}).type(),
            "InvalidParameterException");
  EXPECT_EQ(
      sm_err("DeleteSecret",
             {{"SecretId", "a"}, {"RecoveryWindowInDays", 7}, {"ForceDeleteWithoutRecovery", true}})
          .type(),
      "InvalidParameterException");
  sm("DeleteSecret", {{"SecretId", "a"}, {"ForceDeleteWithoutRecovery", true}});
  EXPECT_EQ(sm_err("DescribeSecret", {{"SecretId", "a"}}).type(), "ResourceNotFoundException");
}

TEST_F(SecretsOpsTest, SourceCredentials) {
  const std::string target = "CodeBuild_20161006.";
  const json cred = {
      {"token", "ghp_TOPSECRET"}, {"serverType", "GITHUB"}, {"authType", "PERSONAL_ACCESS_TOKEN"}};
  const std::string arn = "arn:aws:codebuild:us-east-1:123456789012:token/github";
  EXPECT_EQ(ok(target + "ImportSourceCredentials", cred), json({{"arn", arn}}));
  json again = cred;
  again["shouldOverwrite"] = false;
  EXPECT_EQ(call(target + "ImportSourceCredentials", again).type(),
            "ResourceAlreadyExistsException");
  const Answer list = call(target + "ListSourceCredentials", json::object());
  EXPECT_EQ(list.body, json::parse(R"({"sourceCredentialsInfos": [{"arn": ")" + arn +
                                   R"(", "serverType": "GITHUB",
                                   "authType": "PERSONAL_ACCESS_TOKEN"}]})"));
  EXPECT_EQ(list.text.find("TOPSECRET"), std::string::npos);
  Answer basic = call(target + "ImportSourceCredentials",
                      {{"token", "t"}, {"serverType", "BITBUCKET"}, {"authType", "BASIC_AUTH"}});
  EXPECT_EQ(basic.type(), "InvalidInputException");
  EXPECT_EQ(basic.message(), "username is required when authType is BASIC_AUTH");
  EXPECT_EQ(ok(target + "DeleteSourceCredentials", {{"arn", arn}}), json({{"arn", arn}}));
  EXPECT_EQ(call(target + "DeleteSourceCredentials", {{"arn", arn}}).type(),
            "ResourceNotFoundException");
}

TEST_F(SecretsOpsTest, EachPrefixWantsItsOwnSigningService) {
  const json in = {{"Name", "x"}, {"Value", "v"}, {"Type", "String"}};
  Answer wrong = call("AmazonSSM.PutParameter", in, "codebuild");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.type(), "InvalidSignatureException");
  EXPECT_EQ(call("secretsmanager.ListSecrets", json::object(), "ssm").type(),
            "InvalidSignatureException");
  Answer right = call("AmazonSSM.PutParameter", in, "ssm");
  EXPECT_EQ(right.status, 200) << right.text;
  // The signature's region is the one in the ARNs.
  EXPECT_EQ(call("AmazonSSM.GetParameter", {{"Name", "x"}}, "ssm").body["Parameter"]["ARN"],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/x");
  EXPECT_EQ(call("secretsmanager.ListSecrets", json::object(), "secretsmanager").status, 200);
  EXPECT_EQ(call("AmazonSSM.NoSuchThing", json::object()).type(), "ValidationException");
  EXPECT_EQ(call("secretsmanager.NoSuchThing", json::object()).type(), "InvalidParameterException");
}

}  // namespace
}  // namespace kiln::api
