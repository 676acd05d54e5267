using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;
using Npgsql;

namespace Notifications.Tests.Integration;

/// <summary>
/// The service prepares its PostgreSQL statements and hands pooled connections back without a reset (seven statements
/// PostgreSQL would otherwise run before every next use), unless the connection string decides.
/// </summary>
public sealed class PostgresConnectionTests(PostgresServiceFixture service) : IClassFixture<PostgresServiceFixture>
{
    [Fact]
    public async Task The_service_prepares_statements_and_does_not_reset_pooled_connections()
    {
        await using var scope = service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();

        var settings = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());
        Assert.True(settings.NoResetOnClose);
        Assert.Equal(64, settings.MaxAutoPrepare);
        Assert.Equal(1, await db.Database.SqlQueryRaw<int>("SELECT 1 AS \"Value\"").SingleAsync().WithTimeout());
    }

    [Theory]
    [InlineData("Host=db;Database=n;No Reset On Close=false", false, 64)]
    [InlineData("Host=db;Database=n;NoResetOnClose=false;Max Auto Prepare=0", false, 0)]
    [InlineData("Host=db;Database=n;Max Auto Prepare=8", true, 8)]
    [InlineData("Host=db;Database=n;Password=NoResetOnClose-MaxAutoPrepare", true, 64)]
    public void A_connection_string_that_sets_either_keeps_its_own_value(string given, bool noResetOnClose, int maxAutoPrepare)
    {
        var settings = new NpgsqlConnectionStringBuilder(InfrastructureExtensions.TunedPostgresConnectionString(given));

        Assert.Equal(noResetOnClose, settings.NoResetOnClose);
        Assert.Equal(maxAutoPrepare, settings.MaxAutoPrepare);
        Assert.Equal("db", settings.Host);
    }
}
