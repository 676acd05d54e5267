using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Notifications.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Notifications.Tests.Browser;

/// <summary>
/// The inbox's badge against the server's unread count when the page's own change and the server's pushed
/// <c>UnreadCountChanged</c> race. The server pushes the count to every tab of the user before the REST call returns;
/// on the wire either may reach the page first. These tests put both in a chosen order: the page's hub WebSocket is
/// routed through the test (pushes can be held), and the REST response is held until the test lets it go.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class UnreadBadgeTests(BrowserFixture browser)
{
    /// <summary>
    /// Counts, per kind of call (archive, read, unread-count), the page's calls on the way and the responses it has
    /// finished handling: a response is counted in a task queued once the page has it (with its body, when it reads
    /// one), so the page's own continuation (plain awaits, and any call it starts from there) has run by then.
    /// </summary>
    private const string CountCalls = """
        (() => {
          window.callsInFlight = {};
          window.callsHandled = {};
          const kinds = [['archive', /\/api\/notifications\/\d+\/archive$/], ['read', /\/api\/notifications\/\d+\/read$/], ['unread-count', /\/api\/notifications\/unread-count$/]];
          const fetch = window.fetch.bind(window);
          window.fetch = async (input, init) => {
            const kind = kinds.find(([, re]) => re.test(String(input)))?.[0];
            if (!kind) return fetch(input, init);
            window.callsInFlight[kind] = (window.callsInFlight[kind] || 0) + 1;
            const done = () => setTimeout(() => {
              window.callsInFlight[kind]--;
              window.callsHandled[kind] = (window.callsHandled[kind] || 0) + 1;
            }, 0);
            let response;
            try {
              response = await fetch(input, init);
            } catch (e) {
              done();
              throw e;
            }
            if (response.status === 204) {
              done(); // the page reads no body
            } else {
              const text = response.text.bind(response);
              response.text = () => text().finally(done);
            }
            return response;
          };
        })();
        """;

    [Theory(Timeout = 120_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Archiving_an_unread_notification_leaves_the_badge_at_the_servers_count_whether_the_push_or_the_response_comes_first(bool pushFirst)
    {
        var reader = TestUsers.New(pushFirst ? "archive-push" : "archive-resp");
        var ids = await ThreeUnreadAsync(reader, "Archive me");

        await using var session = browser.NewSession();
        var tab = await session.NewDeviceAsync("inbox");
        var pushes = new HubPushes();
        await tab.Page.RouteWebSocketAsync(HubSocket(), pushes.Route);
        await tab.Page.AddInitScriptAsync(CountCalls);
        var fetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await tab.Page.RouteAsync(ArchiveCall(), async route =>
        {
            var response = await route.FetchAsync(); // the server archives, and pushes the new count, now
            fetched.TrySetResult();
            await release.Task;
            await route.FulfillAsync(new RouteFulfillOptions { Response = response });
        });

        await tab.SignInAsync("/", reader);
        await Expect(tab.TestId("badge")).ToHaveAttributeAsync("data-count", "3");
        await tab.TestId("bell").ClickAsync();
        await Expect(tab.InboxItem(ids[0])).ToHaveAttributeAsync("data-read", "false");

        var countPushes = pushes.CountPushes;
        pushes.Hold = !pushFirst;
        await tab.InboxItem(ids[0]).GetByTestId("archive").ClickAsync();
        await fetched.Task.WithTimeout(BrowserFixture.Patience, "the archive call to reach the server");
        await pushes.WaitForCountPushAsync(countPushes + 1, "the count push of the archive");
        var serverCount = await ServerUnreadCountAsync(reader);
        Assert.Equal(2, serverCount);

        if (pushFirst)
        {
            // The push is in the page (delivered in order before this evaluation runs); now the response follows it.
            await tab.EvaluateAsync("() => new Promise((r) => setTimeout(r, 0))", "a round trip after the push");
            release.SetResult();
            await WaitForAsync(tab, "() => window.callsHandled.archive >= 1", "the archive response to be handled");
        }
        else
        {
            // The response first, with the push held; then the push.
            release.SetResult();
            await WaitForAsync(tab, "() => window.callsHandled.archive >= 1", "the archive response to be handled");
            pushes.Hold = false;
            pushes.ReleaseHeld();
            await tab.EvaluateAsync("() => new Promise((r) => setTimeout(r, 0))", "a round trip after the push");
        }

        var expected = serverCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(expected, await tab.TestId("badge").GetAttributeAsync("data-count").WithTimeout(BrowserFixture.Patience, "the badge's count"));
        await Expect(tab.TestId("badge")).ToHaveTextAsync(expected);
        await Expect(tab.Page).ToHaveTitleAsync($"({expected}) Notifications");
        await Expect(tab.Page.Locator("#stat-unread")).ToHaveTextAsync(expected);
        await Expect(tab.InboxItem(ids[0])).ToHaveCountAsync(0);

        // Nothing later takes it off again (a late local change would land within this round trip and the next).
        await tab.EvaluateAsync("() => new Promise((r) => setTimeout(r, 200))", "a short wait");
        Assert.Equal(expected, await tab.TestId("badge").GetAttributeAsync("data-count").WithTimeout(BrowserFixture.Patience, "the badge's count"));
        Assert.Equal(serverCount, await ServerUnreadCountAsync(reader));
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_fetched_count_older_than_a_read_pushed_meanwhile_does_not_overwrite_the_badge()
    {
        // A retraction pushes no count: the page asks for it. Here that answer is counted before the user's read, and
        // reaches the page after the read's own push.
        var reader = TestUsers.New("stale-count");
        var ids = await ThreeUnreadAsync(reader, "Count me");

        await using var session = browser.NewSession();
        var tab = await session.NewDeviceAsync("inbox");
        await tab.Page.AddInitScriptAsync(CountCalls);
        var armed = 0;
        var fetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await tab.Page.RouteAsync(UnreadCountCall(), async route =>
        {
            if (Interlocked.CompareExchange(ref armed, 0, 1) != 1)
            {
                await route.ContinueAsync();
                return;
            }

            var response = await route.FetchAsync(); // counted by the server now
            fetched.TrySetResult();
            await release.Task;
            await route.FulfillAsync(new RouteFulfillOptions { Response = response });
        });

        await tab.SignInAsync("/", reader);
        await Expect(tab.TestId("badge")).ToHaveAttributeAsync("data-count", "3");
        await tab.TestId("bell").ClickAsync();
        await Expect(tab.InboxItem(ids[2])).ToBeVisibleAsync();
        // The page asks for the count when it starts, and again after its first catch-up: both are done before this.
        await WaitForAsync(
            tab,
            "() => window.callsHandled['unread-count'] >= 2 && !window.callsInFlight['unread-count']",
            "the page's own count requests to finish");
        var countsHandled = await tab.EvaluateAsync<int>("() => window.callsHandled['unread-count'] || 0", "the count requests handled so far");

        Volatile.Write(ref armed, 1);
        using (var admin = browser.Server.Client("setup-admin", "admin"))
        {
            using var retracted = await admin.DeleteAsync($"api/notifications/{ids[2]}").WithTimeout(what: "the retraction");
            retracted.EnsureSuccessStatusCode();
        }

        await fetched.Task.WithTimeout(BrowserFixture.Patience, "the page to ask for the count after the retraction");
        await Expect(tab.InboxItem(ids[2])).ToHaveCountAsync(0);
        await tab.InboxItem(ids[0]).GetByTestId("mark-read").ClickAsync();
        await WaitForAsync(tab, "() => window.callsHandled.read >= 1", "the read to be handled");
        Assert.Equal(1, await ServerUnreadCountAsync(reader));
        await Expect(tab.TestId("badge")).ToHaveAttributeAsync("data-count", "1"); // the read's push

        release.SetResult();
        await WaitForAsync(
            tab,
            $"() => window.callsHandled['unread-count'] >= {countsHandled + 1} && !window.callsInFlight['unread-count']",
            "the held count to be handled");
        Assert.Equal("1", await tab.TestId("badge").GetAttributeAsync("data-count").WithTimeout(BrowserFixture.Patience, "the badge's count"));
        await Expect(tab.Page).ToHaveTitleAsync("(1) Notifications");
        Assert.Equal(1, await ServerUnreadCountAsync(reader));
        session.AssertNoConsoleErrors();
    }

    /// <summary>A user with nothing unread, then three notifications sent to them.</summary>
    private async Task<List<long>> ThreeUnreadAsync(string reader, string title)
    {
        await browser.MarkAllReadAsync(reader);
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await browser.SendAsync(TestUsers.Notification($"{title} {i}", reader)));
        }

        return ids;
    }

    private async Task<int> ServerUnreadCountAsync(string userId)
    {
        using var http = browser.Server.Client(userId);
        using var json = JsonDocument.Parse(await http.GetStringAsync("api/notifications/unread-count").WithTimeout(what: "the server's unread count"));
        return json.RootElement.GetProperty("count").GetInt32();
    }

    private static Task WaitForAsync(BrowserTab tab, string condition, string what) =>
        tab.Page.WaitForFunctionAsync(condition).WithTimeout(BrowserFixture.Patience, $"{what} in tab {tab.Name}");

    [GeneratedRegex(@"/hubs/notifications")]
    private static partial Regex HubSocket();

    [GeneratedRegex(@"/api/notifications/unread-count$")]
    private static partial Regex UnreadCountCall();

    [GeneratedRegex(@"/api/notifications/\d+/archive$")]
    private static partial Regex ArchiveCall();

    /// <summary>The page's hub WebSocket, passed through; frames carrying <c>UnreadCountChanged</c> can be held back.</summary>
    private sealed class HubPushes
    {
        private readonly Lock gate = new();
        private readonly List<string> held = [];
        private IWebSocketRoute? page;
        private int countPushes;

        /// <summary>While true, frames with an <c>UnreadCountChanged</c> are kept from the page.</summary>
        public bool Hold { get; set; }

        /// <summary>How many frames with an <c>UnreadCountChanged</c> came from the server (held or not).</summary>
        public int CountPushes => Volatile.Read(ref countPushes);

        public void Route(IWebSocketRoute toPage)
        {
            page = toPage;
            var server = toPage.ConnectToServer();
            toPage.OnMessage(frame =>
            {
                if (frame.Text is { } text)
                {
                    server.Send(text);
                }
                else
                {
                    server.Send(frame.Binary ?? []);
                }
            });
            server.OnMessage(frame =>
            {
                if (frame.Text is { } text && text.Contains("\"UnreadCountChanged\"", StringComparison.Ordinal))
                {
                    lock (gate)
                    {
                        if (Hold)
                        {
                            held.Add(text);
                        }
                        else
                        {
                            toPage.Send(text);
                        }

                        Interlocked.Increment(ref countPushes);
                    }
                }
                else if (frame.Text is { } other)
                {
                    toPage.Send(other);
                }
                else
                {
                    toPage.Send(frame.Binary ?? []);
                }
            });
        }

        public void ReleaseHeld()
        {
            lock (gate)
            {
                foreach (var text in held)
                {
                    page!.Send(text);
                }

                held.Clear();
            }
        }

        public async Task WaitForCountPushAsync(int atLeast, string what)
        {
            var deadline = DateTime.UtcNow + BrowserFixture.Patience;
            while (CountPushes < atLeast)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
                await Task.Delay(20);
            }
        }
    }
}
