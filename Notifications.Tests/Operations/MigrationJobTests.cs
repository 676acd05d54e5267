using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// `--migrate-only`, the one-shot job that migrates the database before instances start with
/// `Database:MigrateOnStartup=false`: it needs the database's settings and no others, and still refuses bad ones.
/// </summary>
public sealed class MigrationJobTests : IDisposable
{
    private readonly DirectoryInfo root = Directory.CreateTempSubdirectory("notifications-migrate-");

    private string Database => Path.Combine(root.FullName, "job.db");

    public void Dispose() => TestRunCleanup.DeleteDirectory(root.FullName);

    [Fact]
    public async Task The_migration_job_needs_only_the_database_settings()
    {
        // Production, and no Auth:* at all: an instance would refuse to start, the job has no use for them.
        var (exitCode, output) = await RunJobAsync(new()
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Notifications"] = $"Data Source={Database}",
        });

        Assert.True(exitCode == 0, $"The job exited with {exitCode}:\n{output}");
        await using var connection = new SqliteConnection($"Data Source={Database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM \"__EFMigrationsHistory\"";
        Assert.True(Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0, "The job applied no migration.");
    }

    [Fact]
    public async Task The_migration_job_refuses_a_database_provider_it_does_not_know_and_migrates_nothing()
    {
        var (exitCode, output) = await RunJobAsync(new()
        {
            ["Database:Provider"] = "MySql",
            ["ConnectionStrings:Notifications"] = $"Data Source={Database}",
        });

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Database:Provider must be one of Sqlite, SqlServer, Postgres.", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Database), "The job touched a database with settings it refused.");
    }

    private static async Task<(int ExitCode, string Output)> RunJobAsync(Dictionary<string, string> settings)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServiceProcess.ApiAssembly)!,
        };
        info.ArgumentList.Add(ServiceProcess.ApiAssembly);
        info.ArgumentList.Add("--migrate-only");
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var process = Process.Start(info)!;
        using var killOnExit = TestRunCleanup.KillOnExit(process);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(90), "the migration job to exit");
        return (process.ExitCode, await stdout + await stderr);
    }
}
