"""The Content Hub solution package: mainTemplate, createUiDefinition, zip, standalone ARM templates."""
