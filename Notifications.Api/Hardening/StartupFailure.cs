using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Notifications.Api.Hardening;

/// <summary>Turns invalid configuration at startup into one readable message on stderr and exit code 1, not a stack trace.</summary>
public static partial class StartupFailure
{
    public const int ExitCode = 1;

    public static bool IsInvalidConfiguration(Exception exception) => Failures(exception).Any();

    public static int Report(Exception exception)
    {
        var failures = Failures(exception).Distinct(StringComparer.Ordinal).ToList();
        Console.Error.WriteLine("Startup failed: the configuration is invalid.");
        foreach (var failure in failures)
        {
            Console.Error.WriteLine($"  - {failure}");
        }

        Console.Error.WriteLine("Fix the settings above (appsettings.json, environment variables such as Auth__SigningKey) and start again.");
        return ExitCode;
    }

    private static IEnumerable<string> Failures(Exception exception) => exception switch
    {
        OptionsValidationException options => options.Failures,
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Failures),
        InvalidOperationException when NotConvertible().Match(exception.Message) is { Success: true } match =>
            [$"{match.Groups["key"].Value} is not a valid {match.Groups["type"].Value}"],
        _ => [],
    };

    // The configuration binder's own message, without the value it quotes (a value is not echoed: it could be a secret).
    [GeneratedRegex(@"^Failed to convert configuration value .*at '(?<key>[^']+)' to type '(?:System\.)?(?<type>[^']+)'\.?$", RegexOptions.Singleline)]
    private static partial Regex NotConvertible();
}
