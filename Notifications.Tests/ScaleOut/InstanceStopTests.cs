using Notifications.Tests.Infrastructure;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>An instance that shuts down (SIGTERM) over Redis; its cluster is its own, since the test stops one of it.</summary>
[Collection(ScaleOutCollection.Name)]
public sealed class InstanceStopTests(StoppingInstanceCluster cluster) : IClassFixture<StoppingInstanceCluster>
{
    [Fact]
    public async Task An_instance_that_stops_leaves_the_admin_stats_of_the_others_at_once()
    {
        await using var onB = await ConnectAsync(cluster.B, TestUsers.New("leaving"));
        await Timeouts.Eventually(
            async () => await StatsAsync(cluster.A) is { Instances: 2, Connections: >= 1 }, "instance A counting B and its connection");

        await cluster.B.TerminateAsync();

        // A report that is not renewed expires after 10 s; a stopping instance withdraws its own before that.
        await Timeouts.Eventually(
            async () => await StatsAsync(cluster.A) is { Instances: 1, Connections: 0 }, "instance A no longer counting B", TimeSpan.FromSeconds(5));
    }
}
