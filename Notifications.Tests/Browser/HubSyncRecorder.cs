using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Browser;

/// <summary>
/// A page's hub WebSocket, passed through unchanged, with the catch-ups it runs written down: the <c>afterId</c> of
/// every hub <c>Sync</c> the page invokes and how many notifications each answer carried. Install it before the page
/// connects (<see cref="InstallAsync"/>).
/// </summary>
public sealed partial class HubSyncRecorder
{
    private const char RecordSeparator = '\u001e';

    private readonly Lock gate = new();
    private readonly Dictionary<string, long> pending = []; // invocation id -> afterId
    private readonly List<long> afterIds = [];
    private readonly List<(long AfterId, int Items)> answered = [];

    /// <summary>The <c>afterId</c> of every <c>Sync</c> invoked so far, in order.</summary>
    public IReadOnlyList<long> AfterIds
    {
        get
        {
            lock (gate)
            {
                return [.. afterIds];
            }
        }
    }

    /// <summary>Every answered <c>Sync</c>: its <c>afterId</c> and the number of notifications it returned.</summary>
    public IReadOnlyList<(long AfterId, int Items)> Answered
    {
        get
        {
            lock (gate)
            {
                return [.. answered];
            }
        }
    }

    public Task InstallAsync(BrowserTab tab) => tab.Page.RouteWebSocketAsync(HubSocket(), Route);

    /// <summary>Waits until at least <paramref name="count"/> catch-up pages were answered.</summary>
    public Task WaitForAnswersAsync(int count, string what) =>
        Timeouts.Eventually(() => Task.FromResult(Answered.Count >= count), what, BrowserFixture.Patience);

    public override string ToString() =>
        $"Sync afterIds [{string.Join(", ", AfterIds)}], answers [{string.Join(", ", Answered.Select(a => $"after {a.AfterId}: {a.Items} items"))}]";

    private void Route(IWebSocketRoute toPage)
    {
        var server = toPage.ConnectToServer();
        toPage.OnMessage(frame =>
        {
            if (frame.Text is { } text)
            {
                Read(text, fromPage: true);
                server.Send(text);
            }
            else
            {
                server.Send(frame.Binary ?? []);
            }
        });
        server.OnMessage(frame =>
        {
            if (frame.Text is { } text)
            {
                Read(text, fromPage: false);
                toPage.Send(text);
            }
            else
            {
                toPage.Send(frame.Binary ?? []);
            }
        });
    }

    /// <summary>Reads SignalR JSON records: invocations (type 1) of Sync from the page, completions (type 3) from the server.</summary>
    private void Read(string frame, bool fromPage)
    {
        foreach (var record in frame.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(record);
            var root = json.RootElement;
            if (!root.TryGetProperty("type", out var type) || !root.TryGetProperty("invocationId", out var invocation))
            {
                continue;
            }

            var id = invocation.GetString()!;
            lock (gate)
            {
                if (fromPage && type.GetInt32() == 1 && root.GetProperty("target").GetString() == "Sync")
                {
                    var afterId = root.GetProperty("arguments")[0].GetInt64();
                    afterIds.Add(afterId);
                    pending[id] = afterId;
                }
                else if (!fromPage && type.GetInt32() == 3 && pending.Remove(id, out var afterId))
                {
                    var items = root.TryGetProperty("result", out var result) && result.TryGetProperty("items", out var list) ? list.GetArrayLength() : -1;
                    answered.Add((afterId, items));
                }
            }
        }
    }

    [GeneratedRegex(@"/hubs/notifications")]
    private static partial Regex HubSocket();
}
