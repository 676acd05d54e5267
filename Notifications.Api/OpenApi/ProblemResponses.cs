using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace Notifications.Api.OpenApi;

/// <summary>
/// Declares the ProblemDetails answers of endpoints in the OpenAPI document. Errors that come from exceptions
/// (<see cref="Errors.ProblemExceptionHandler"/>), middleware or the status code pages are invisible to the generator,
/// which only sees the handler's return type.
/// </summary>
public static class ProblemResponses
{
    public const string ContentType = "application/problem+json";

    /// <summary>Declares that the endpoint answers <paramref name="status"/> with a ProblemDetails, for the reason given.</summary>
    public static TBuilder DeclaresProblem<TBuilder>(this TBuilder builder, int status, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Problem(status, description));

    /// <summary>Declares a 400 with an <c>errors</c> map (field name to messages), for the reason given.</summary>
    public static TBuilder DeclaresValidationProblem<TBuilder>(this TBuilder builder, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(HttpValidationProblemDetails), [ContentType])
        {
            Description = description,
        });

    /// <summary>
    /// Declares what every endpoint under <c>/api</c> can answer besides its own errors, each where it applies: 401
    /// where authorization is required, 429 where a rate limiting policy is, 413 and 415 where a JSON body is read
    /// (<see cref="Hardening.RequestBodyLimitMiddleware"/> guards every <c>/api</c> body), and 503 (every one of them
    /// uses the store). Read from each endpoint's final metadata, so that a new endpoint cannot leave them out.
    /// </summary>
    public static TBuilder DeclaresApiProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(endpoint =>
        {
            var metadata = endpoint.Metadata;
            if (BearerSecurityTransformer.RequiresAuthorization(metadata))
            {
                metadata.Add(Problem(StatusCodes.Status401Unauthorized, "No valid bearer token: missing, expired, or not signed for this service."));
            }

            if (metadata.OfType<IAcceptsMetadata>().Any())
            {
                metadata.Add(Problem(StatusCodes.Status413PayloadTooLarge, "The body is over Limits:MaxRequestBodyBytes (64 KB by default)."));
                metadata.Add(Problem(StatusCodes.Status415UnsupportedMediaType, "The body is not sent as application/json."));
            }

            if (metadata.OfType<EnableRateLimitingAttribute>().Any())
            {
                metadata.Add(Problem(StatusCodes.Status429TooManyRequests, "Rate limited (sends: RateLimit:SendsPerMinute per sender); retry after Retry-After seconds."));
            }

            metadata.Add(Problem(StatusCodes.Status503ServiceUnavailable, "The notification store is unavailable; retry after Retry-After seconds."));
        });
        return builder;
    }

    // Metadata rather than [ProducesResponseType]: the API explorer lets a typed result's own response (NotFound's 404,
    // declared without a body) replace an attribute's, but not this. It drops the description; ProblemResponsesTransformer
    // puts it back.
    private static ProducesResponseTypeMetadata Problem(int status, string description) =>
        new(status, typeof(ProblemDetails), [ContentType]) { Description = description };
}
