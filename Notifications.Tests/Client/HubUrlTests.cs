using Notifications.Client;

namespace Notifications.Tests.Client;

public sealed class HubUrlTests
{
    [Theory]
    [InlineData("https://notify.example.com", "https://notify.example.com/hubs/notifications")]
    [InlineData("https://notify.example.com/", "https://notify.example.com/hubs/notifications")]
    [InlineData("https://example.com/notify", "https://example.com/notify/hubs/notifications")]
    [InlineData("https://example.com/notify/", "https://example.com/notify/hubs/notifications")]
    [InlineData("http://127.0.0.1:5000/?tenant=a#top", "http://127.0.0.1:5000/hubs/notifications")]
    public void The_hub_path_is_appended_to_the_server_url_keeping_its_path_base(string serverUrl, string hubUrl)
    {
        Assert.Equal(new Uri(hubUrl), NotificationsClient.HubUrl(new Uri(serverUrl)));
    }

    [Fact]
    public void A_relative_server_url_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new NotificationsClient(new NotificationsClientOptions(new Uri("/notify", UriKind.Relative), _ => Task.FromResult("t"))));
    }

    [Fact]
    public void A_negative_reconnect_delay_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NotificationsClient(
            new NotificationsClientOptions(new Uri("https://notify.example.com"), _ => Task.FromResult("t")) { ReconnectDelays = [TimeSpan.FromSeconds(-1)] }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public void A_sync_page_size_the_hub_would_refuse_is_refused(int pageSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NotificationsClient(
            new NotificationsClientOptions(new Uri("https://notify.example.com"), _ => Task.FromResult("t")) { SyncPageSize = pageSize }));
    }
}
