using System.Text.RegularExpressions;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// There is no Docker engine here, so docker-compose.yml and deploy/nginx/nginx.conf are checked against each other
/// as text: nginx proxies to exactly the API services compose runs, on the port they listen on, and compose mounts
/// every file nginx.conf includes and publishes the port nginx listens on.
/// </summary>
public sealed partial class DeploymentConfigTests
{
    private static readonly string Root = ServiceProcess.RepositoryRoot;

    private static string NginxConf => File.ReadAllText(Path.Combine(Root, "deploy", "nginx", "nginx.conf"));

    private static YamlBlock Compose => YamlBlock.Parse(File.ReadAllLines(Path.Combine(Root, "docker-compose.yml")));

    [Fact]
    public void Nginx_upstream_names_the_api_services_of_docker_compose_on_their_port()
    {
        var upstream = UpstreamServers().ToList();
        var services = Compose.Child("services");
        var apiServices = services.Keys.Where(name => services.Child(name).Text.Contains("*api-instance", StringComparison.Ordinal)).ToList();
        var apiPort = Compose.Child("x-api-instance").Child("expose").Items.Single().Trim('"');

        Assert.Equal(["api1", "api2"], apiServices);
        Assert.Equal(apiServices, upstream.Select(s => s.Host));
        Assert.All(upstream, s => Assert.Equal(apiPort, s.Port));
        Assert.Contains($"ASPNETCORE_HTTP_PORTS={apiPort}", File.ReadAllText(Path.Combine(Root, "Notifications.Api", "Dockerfile")), StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{apiPort}/health/ready", Compose.Child("x-api-instance").Child("healthcheck").Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_publishes_the_port_nginx_listens_on_and_starts_nginx_after_every_api_service()
    {
        var nginx = Compose.Child("services").Child("nginx");
        var listen = ListenDirective().Match(NginxConf).Groups[1].Value;

        var published = nginx.Child("ports").Items.Single().Trim('"');
        Assert.EndsWith($":{listen}", published, StringComparison.Ordinal);
        Assert.Equal(UpstreamServers().Select(s => s.Host).Order(), nginx.Child("depends_on").Keys.Order());
    }

    [Fact]
    public void Compose_publishes_on_loopback_unless_told_otherwise()
    {
        // The compose defaults (signing key, SA password) are in this repository: not for other machines' ears.
        var published = Compose.Child("services").Child("nginx").Child("ports").Items.Single().Trim('"');

        Assert.StartsWith("${NOTIFICATIONS_BIND_ADDRESS:-127.0.0.1}:", published, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_gives_each_instance_longer_to_stop_than_its_shutdown_drain()
    {
        using var settings = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "Notifications.Api", "appsettings.json")));
        var drain = settings.RootElement.GetProperty("Shutdown").GetProperty("TimeoutSeconds").GetInt32();
        var grace = StopGracePeriod().Match(Compose.Child("x-api-instance").Text);

        Assert.True(grace.Success, "x-api-instance sets stop_grace_period in seconds");
        var seconds = int.Parse(grace.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seconds > drain, $"stop_grace_period {seconds}s is longer than Shutdown:TimeoutSeconds {drain}");
    }

    [Fact]
    public void Compose_mounts_nginx_conf_and_every_file_it_includes()
    {
        var volumes = Compose.Child("services").Child("nginx").Child("volumes").Items.ToList();
        var includes = IncludeDirective().Matches(NginxConf).Select(m => m.Groups[1].Value).ToList();

        Assert.NotEmpty(includes);
        Assert.Contains("./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro", volumes);
        foreach (var include in includes)
        {
            Assert.Contains($"./deploy/nginx/{include}:/etc/nginx/{include}:ro", volumes);
            Assert.True(File.Exists(Path.Combine(Root, "deploy", "nginx", include)), $"deploy/nginx/{include} exists");
        }
    }

    private static IEnumerable<(string Host, string Port)> UpstreamServers()
    {
        var conf = NginxConf;
        var start = conf.IndexOf("upstream notifications_api", StringComparison.Ordinal);
        Assert.True(start >= 0, "nginx.conf has upstream notifications_api");
        var block = conf[start..conf.IndexOf('}', start)];
        return ServerDirective().Matches(block).Select(m => (m.Groups[1].Value, m.Groups[2].Value));
    }

    [GeneratedRegex(@"^\s*server\s+([A-Za-z0-9_.-]+):(\d+)", RegexOptions.Multiline)]
    private static partial Regex ServerDirective();

    [GeneratedRegex(@"^\s*stop_grace_period:\s*(\d+)s\s*(?:#.*)?$", RegexOptions.Multiline)]
    private static partial Regex StopGracePeriod();

    [GeneratedRegex(@"^\s*listen\s+(\d+)\s*;", RegexOptions.Multiline)]
    private static partial Regex ListenDirective();

    [GeneratedRegex(@"^\s*include\s+([A-Za-z0-9_.-]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex IncludeDirective();

    /// <summary>Just enough YAML for a block-style compose file: keys by indentation, list items, raw text.</summary>
    private sealed class YamlBlock(IReadOnlyList<string> lines, int indent)
    {
        public IEnumerable<string> Keys => ChildLines().Select(KeyOf).OfType<string>();

        public IEnumerable<string> Items => ChildLines()
            .Where(l => l.TrimStart().StartsWith("- ", StringComparison.Ordinal))
            .Select(l => StripComment(l.TrimStart()[2..]).Trim());

        public string Text => string.Join('\n', lines);

        public static YamlBlock Parse(IReadOnlyList<string> lines) => new(lines, -2);

        public YamlBlock Child(string key)
        {
            var start = -1;
            for (var i = 0; i < lines.Count; i++)
            {
                if (Indent(lines[i]) == indent + 2 && KeyOf(lines[i]) == key)
                {
                    start = i;
                    break;
                }
            }

            Assert.True(start >= 0, $"YAML key '{key}' found");
            var body = new List<string>();
            for (var i = start + 1; i < lines.Count && (IsBlank(lines[i]) || Indent(lines[i]) > indent + 2); i++)
            {
                body.Add(lines[i]);
            }

            return new YamlBlock(body, indent + 2);
        }

        private IEnumerable<string> ChildLines()
        {
            var childIndent = lines.Where(l => !IsBlank(l)).Select(Indent).DefaultIfEmpty(0).Min();
            return lines.Where(l => !IsBlank(l) && Indent(l) == childIndent);
        }

        private static string? KeyOf(string line)
        {
            var match = Key().Match(line);
            return match.Success ? match.Groups[1].Value : null;
        }

        private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;

        private static bool IsBlank(string line) => string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#');

        private static string StripComment(string value)
        {
            var hash = value.IndexOf(" #", StringComparison.Ordinal);
            return hash >= 0 ? value[..hash] : value;
        }
    }

    [GeneratedRegex(@"^\s*([A-Za-z0-9_.-]+):(\s|$)")]
    private static partial Regex Key();
}
