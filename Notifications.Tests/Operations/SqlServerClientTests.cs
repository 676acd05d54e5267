using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// There is no SQL Server here, but the service's own process must be able to talk to one: pointed at a port where
/// nothing listens, its migration fails the way a SQL Server client's connect fails, not before any connection is tried.
/// </summary>
public sealed class SqlServerClientTests
{
    [Fact]
    public async Task The_service_process_opens_SQL_Server_connections()
    {
        await using var process = new ServiceProcess(new()
        {
            ["Database:Provider"] = "SqlServer",
            ["ConnectionStrings:Notifications"] =
                $"Server=127.0.0.1,{FreePort.Next()};Database=notifications;User Id=sa;Password=unused-Passw0rd;TrustServerCertificate=True;Connect Timeout=3;ConnectRetryCount=0",
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => process.StartAsync(TimeSpan.FromSeconds(60)));

        // Microsoft.Data.SqlClient refuses every connection in globalization-invariant mode.
        Assert.DoesNotContain("Globalization Invariant Mode is not supported", process.Output, StringComparison.Ordinal);
        Assert.Contains("Microsoft.Data.SqlClient.SqlException", process.Output, StringComparison.Ordinal);
    }
}
